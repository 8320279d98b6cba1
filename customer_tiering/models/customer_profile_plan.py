# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Maintenance plans on the customer profile: the plan a customer follows in a
company, the scheduling of its follow-ups and its plan compliance.

Per batch of profiles: two SQL lookups (last touch and open follow-up per
customer and plan touch), the pure cadence engine for the decisions, bulk
creation of activities, bulk-queued e-mails, and one UPDATE of the profiles'
next touch date and compliance.
"""

import logging
import threading
import time
from collections import Counter, defaultdict
from datetime import timedelta

from markupsafe import Markup

from odoo import api, fields, models
from odoo.tools import SQL

from ..engine import cadence
from .customer_profile import ERROR_COLUMNS, clear_error_assignments
from .fault_isolation import isolate
from .sql_arrays import array_literal

_logger = logging.getLogger(__name__)

# Profile columns the scheduler rewrites in bulk, with their SQL types.
PLAN_COLUMNS = (
    ("next_touch_date", "date"),
    ("touches_due", "int4"),
    ("touches_on_time", "int4"),
    ("plan_compliance", "float8"),
    ("followups_checked_on", "date"),
)

# What the scheduler reads of the profiles and of their customers (the name
# for the follow-ups' document name; anything else is fetched when read).
SCHEDULER_PROFILE_FIELDS = (
    "partner_id",
    "company_id",
    "tier_id",
    "plan_id",
    "pinned_plan_id",
    "plan_start",
    "followups_checked_on",
)
SCHEDULER_PARTNER_FIELDS = (
    "active",
    "commercial_partner_id",
    "user_id",
    "customer_expert_user_id",
    "name",
    "parent_id",
    "type",
    "is_company",
    "company_name",
    "commercial_company_name",
)


# The profile is extended per feature (tiers, health, plans) so that each file
# stays readable; the classes are deliberately not merged.
class CustomerProfile(models.Model):
    _inherit = "customer.profile"  # pylint: disable=consider-merging-classes-inherited

    plan_id = fields.Many2one(
        "customer.maintenance.plan",
        string="Maintenance Plan",
        index="btree_not_null",
        ondelete="set null",
        readonly=True,
        help="The plan the customer follows: the pinned plan, else its tier's.",
    )
    pinned_plan_id = fields.Many2one(
        "customer.maintenance.plan",
        ondelete="set null",
        help="Set by a manager: the customer keeps this plan whatever its tier.",
    )
    plan_start = fields.Date(
        readonly=True,
        help="When the customer started its plan: its first touches were due then.",
    )
    next_touch_date = fields.Date(
        string="Next Touch",
        index=True,
        readonly=True,
        help="The earliest planned touch of the customer: an open follow-up or "
        "the next due date of a plan touch.",
    )
    touches_due = fields.Integer(
        string="Touches Due (90 days)",
        readonly=True,
        help="Planned touches due over the last 90 days (automated e-mails aside).",
    )
    touches_on_time = fields.Integer(
        string="Touches on Time (90 days)",
        readonly=True,
        help="Of the touches due over the last 90 days, those done by their deadline.",
    )
    plan_compliance = fields.Float(
        string="Plan Compliance (%)",
        readonly=True,
        aggregator="avg",
        help="Touches done on time / touches due, over the last 90 days.",
    )
    followups_checked_on = fields.Date(
        readonly=True,
        help="When the scheduler last went through this customer's plan.",
    )
    touch_ids = fields.One2many("customer.touch", "profile_id", string="Touches")
    followup_ids = fields.One2many(
        "mail.activity", "customer_profile_id", string="Planned Follow-ups"
    )

    # ------------------------------------------------------------------
    # Which plan: the pinned one, else the tier's
    # ------------------------------------------------------------------

    def write(self, vals):
        res = super().write(vals)
        if "pinned_plan_id" in vals:
            for company, profiles in self.grouped("company_id").items():
                profiles.with_company(company)._schedule_followups()
        return res

    def _sync_plans(self, today=None):
        """Put each profile on the plan it should follow.

        On a switch the follow-ups of the old plan that are not due yet are
        cancelled (with a chatter note) and the new plan starts today.
        Returns the profiles that switched.
        """
        today = (
            today or (self.company_id[:1] or self.env.company)._customer_tiering_today()
        )
        # sudo: the plans of the profile's company, whatever companies the
        # current user has selected.
        Plan = self.env["customer.maintenance.plan"].sudo()
        by_tier = {}
        new_plan = {}
        for profile in self:
            company = profile.company_id
            if company not in by_tier:
                by_tier[company] = Plan._plans_by_tier(company)
            plan = profile.pinned_plan_id or by_tier[company].get(
                profile.tier_id.id, Plan
            )
            if plan != profile.plan_id:
                new_plan[profile] = plan
        if not new_plan:
            return self.browse()
        moved = self.browse([profile.id for profile in new_plan])
        # sudo: the activities belong to the customers' owners, not to the
        # user whose order changed the tier.
        stale = (
            self.env["mail.activity"]
            .sudo()
            .search(
                [
                    ("customer_profile_id", "in", moved.ids),
                    ("date_deadline", ">", today),
                ]
            )
            .filtered(
                lambda a: (
                    a.customer_plan_line_id.plan_id != new_plan[a.customer_profile_id]
                )
            )
        )
        cancelled = Counter(activity.customer_profile_id.id for activity in stale)
        bodies = {}
        switched = moved.filtered("plan_id")
        langs = switched.partner_id._customer_note_langs(switched.company_id[:1])
        for profile in switched:
            # In the customer's language (the jobs run as OdooBot).
            local = profile.with_context(lang=langs[profile.partner_id.id])
            text = local.env._(
                "%(company)s: maintenance plan changed from %(old)s to %(new)s.",
                company=profile.company_id.name,
                old=local.plan_id.name,
                new=new_plan[profile].with_context(lang=local.env.lang).name
                or local.env._("no plan"),
            )
            if cancelled[profile.id]:
                text += " " + local.env._(
                    "Planned follow-ups not yet due, cancelled: %(count)s.",
                    count=cancelled[profile.id],
                )
            bodies[profile.partner_id.id] = Markup("<p>%s</p>") % text
        stale.with_context(customer_touch_recorded=True).unlink()
        by_plan = defaultdict(list)
        for profile, plan in new_plan.items():
            by_plan[plan].append(profile.id)
        for plan, ids in by_plan.items():
            # The plan is system-maintained, like the tier.
            self.browse(ids)._engine().write({"plan_id": plan.id, "plan_start": today})
        if bodies:
            self.env["res.partner"].browse(list(bodies))._message_log_batch(bodies)
        return moved

    # ------------------------------------------------------------------
    # Scheduling
    # ------------------------------------------------------------------
    def _schedule_followups(self, today=None, eager=(), only=None):
        """Create the follow-ups due for these profiles (all of one company).

        For every touch of a customer's plan the engine decides, from the last
        touch of that line (or the plan start), whether one is due within the
        line's lead time; activities are created in bulk, e-mails queued in
        bulk.  Deadlines are dates in the owner's time zone unless ``today``
        is given.  ``eager`` (profile id, line id) pairs get their next touch
        whatever its distance (the previous one was just done); ``only``
        restricts creation to these pairs.

        Returns counters: activities, emails, skipped, fallback, no_owner.
        """
        stats = Counter()
        if not self:
            return stats
        # Only the columns the scheduler reads, not the whole rows (a partner
        # has about a hundred columns): one SELECT each.
        self.fetch(SCHEDULER_PROFILE_FIELDS)
        self.partner_id.fetch(SCHEDULER_PARTNER_FIELDS)
        company = self.company_id
        company.ensure_one()
        self._sync_plans(today)
        now = fields.Datetime.now()
        last_done, open_deadlines, open_ids = self._fetch_plan_state()
        key_moments = self._fetch_key_moments(
            today or company._customer_tiering_today()
        )
        owners = self._plan_owners()
        # sudo: the owners' time zones, whoever runs the scheduler.
        owner_users = (
            self.env["res.users"]
            .sudo()
            .browse(list({owner.user_id for owner in owners.values() if owner}))
        )
        tz = {user.id: user.tz for user in owner_users}
        # Follow-ups in their owner's language (the jobs run as OdooBot).
        lang = {user.id: user.lang or self.env.lang for user in owner_users}
        activities, emails, unowned = [], defaultdict(list), []
        next_dates = defaultdict(list)
        moved = defaultdict(list)
        # What is the same for every customer of a batch, read once: each
        # line's rhythm and kind, the activity values of a line in its
        # owner's language, today in each time zone.
        line_info = {}  # {line: (number, unit, key_days, lead days, kind)}
        templates = {}  # {(line, owner user id, fallback): common values}
        local_days = {}  # {time zone: today there}
        partner_model = self.env["ir.model"]._get_id("res.partner")
        # Archived customers (or customers of an archived company) get no
        # follow-up: archiving removed theirs, and none comes back.
        followed = self.filtered(
            lambda p: (
                p.plan_id
                and p.partner_id.active
                and p.partner_id.commercial_partner_id.active
            )
        )
        for profile in followed:
            for line in profile.plan_id.line_ids:
                key = (profile.id, line.id)
                owner = owners[key]
                if line not in line_info:
                    line_info[line] = (
                        line.interval_number,
                        line.interval_unit,
                        line.key_moment_interval_days or None,
                        line._lead_days(),
                        line.kind,
                    )
                number, unit, key_days, lead_days, kind = line_info[line]
                if today:
                    local_today = today
                else:
                    zone = owner and tz[owner.user_id]
                    if zone not in local_days:
                        local_days[zone] = cadence.local_date(now, zone)
                    local_today = local_days[zone]
                rhythm = {
                    "start": profile.plan_start or local_today,
                    "number": number,
                    "unit": unit,
                    "key_days": key_days,
                    "windows": key_moments.get(profile.id, ()),
                }
                if key in open_deadlines and rhythm["windows"]:
                    # A key moment brings the touch earlier: so its open
                    # follow-up (never later, see the engine).
                    deadline = cadence.moved_deadline(
                        open_deadlines[key],
                        cadence.next_due(last_done=last_done.get(key), **rhythm),
                        cadence.next_due(
                            last_done=last_done.get(key),
                            start=rhythm["start"],
                            number=rhythm["number"],
                            unit=rhythm["unit"],
                        ),
                    )
                    if deadline:
                        moved[deadline].append(open_ids[key])
                        open_deadlines[key] = deadline
                touch = cadence.touch_to_schedule(
                    last_done=last_done.get(key),
                    lead_days=None if key in eager else lead_days,
                    today=local_today,
                    has_open=key in open_deadlines,
                    **rhythm,
                )
                if touch is None or (only is not None and key not in only):
                    next_dates[profile.id].append(
                        open_deadlines.get(key)
                        or cadence.next_due(last_done=last_done.get(key), **rhythm)
                    )
                elif kind == "email":
                    emails[line].append((profile, touch, owner, local_today))
                    next_dates[profile.id].append(
                        cadence.next_due(last_done=local_today, **rhythm)
                    )
                elif owner is None:
                    unowned.append(profile.partner_id.id)
                    next_dates[profile.id].append(touch.deadline)
                else:
                    stats["fallback"] += owner.fallback
                    common = (line, owner.user_id, owner.fallback)
                    if common not in templates:
                        templates[common] = line.with_context(
                            lang=lang[owner.user_id]
                        )._activity_common_values(owner, model_id=partner_model)
                    activities.append(
                        line._activity_values(
                            profile,
                            touch.deadline,
                            owner,
                            common=templates[common],
                        )
                    )
                    next_dates[profile.id].append(touch.deadline)
        if activities:
            self._create_followups(activities)
            stats["activities"] = len(activities)
        for deadline, ids in moved.items():
            # sudo: the follow-ups belong to the customers' owners.
            self.env["mail.activity"].sudo().browse(ids).write(
                {"date_deadline": deadline}
            )
            stats["moved"] += len(ids)
        for line, items in emails.items():
            stats.update(self._send_plan_emails(line, items))
        if unowned:
            stats["no_owner"] = len(unowned)
            _logger.warning(
                "customer_tiering: %s follow-ups of company %s not created: no "
                "owner, team leader or default user (partners %s...). Set a "
                "default user in Settings.",
                len(unowned),
                company.name,
                sorted(set(unowned))[:20],
            )
        if stats["fallback"]:
            _logger.info(
                "customer_tiering: %s follow-ups of company %s assigned to a "
                "fallback owner (the planned one is missing or archived).",
                stats["fallback"],
                company.name,
            )
        self._store_plan_state(
            next_dates,
            today or company._customer_tiering_today(),
            checked=only is None,
        )
        return stats

    @api.model
    def _create_followups(self, values):
        """Create follow-up activities in bulk (see
        ``mail.activity._customer_create_bulk``): owners follow their
        customers, no "assigned to you" e-mail for each of them."""
        # sudo: follow-ups are created by the system for their owners.
        return self.env["mail.activity"].sudo()._customer_create_bulk(values)

    def _plan_owners(self):
        """``{(profile id, line id): Owner or None}`` for the plans of these
        profiles: the first usable user among the line's candidates."""
        company = self.company_id
        # The candidates depend on the line, the salesperson and the expert
        # only: worked out once per such triple, not per customer.
        by_people = {}
        candidates = {}
        for profile in self.filtered("plan_id"):
            partner = profile.partner_id
            for line in profile.plan_id.line_ids:
                people = (
                    line.id,
                    partner.user_id.id,
                    partner.customer_expert_user_id.id,
                )
                if people not in by_people:
                    by_people[people] = tuple(line._owner_candidates(partner, company))
                candidates[profile.id, line.id] = by_people[people]
        user_ids = {uid for users in by_people.values() for __, uid in users if uid}
        # sudo: whether a user is active, internal and in the company, whatever
        # the current user may read.
        usable = (
            self.env["res.users"]
            .sudo()
            .search(
                [
                    ("id", "in", list(user_ids)),
                    ("share", "=", False),
                    ("company_ids", "in", company.id),
                ]
            )
            .ids
        )
        owners = {
            users: cadence.pick_owner(users, usable) for users in by_people.values()
        }
        return {key: owners[users] for key, users in candidates.items()}

    def _send_plan_emails(self, line, items):
        """Queue the e-mails of plan touch ``line`` for ``items`` ((profile,
        touch, owner, day) tuples) in the mail queue; customers without an
        address or blacklisted are skipped and told in their chatter.  Each
        is recorded as a touch so that the rhythm goes on."""
        partners = self.env["res.partner"].browse(
            [profile.partner_id.id for profile, *__ in items]
        )
        reasons = {}
        langs = partners._customer_note_langs(line.company_id or self.env.company)
        for partner in partners:
            # The chatter note, in the customer's language.
            env = self.with_context(lang=langs[partner.id]).env
            if not partner.email_normalized:
                reasons[partner.id] = env._("the customer has no e-mail address")
            elif partner.is_blacklisted:
                reasons[partner.id] = env._("the address is blacklisted")
        to_send = [pid for pid in partners.ids if pid not in reasons]
        if to_send:
            line.mail_template_id.send_mail_batch(to_send, force_send=False)
        touches = []
        channel = self.env.ref("mail.mail_activity_data_email")
        for profile, touch, owner, day in items:
            reason = reasons.get(profile.partner_id.id)
            touches.append(
                {
                    "profile_id": profile.id,
                    "partner_id": profile.partner_id.id,
                    "company_id": profile.company_id.id,
                    "tier_id": profile.tier_id.id,
                    "plan_id": line.plan_id.id,
                    "plan_line_id": line.id,
                    "activity_type_id": channel.id,
                    "summary": line.name,
                    "date": day,
                    "deadline": touch.deadline,
                    "user_id": owner and owner.user_id,
                    "state": "skipped" if reason else "done",
                    "automated": True,
                    "note": reason or False,
                }
            )
        # sudo: touches are recorded by the system.
        self.env["customer.touch"].sudo().create(touches)
        if reasons:
            bodies = {}
            for pid, reason in reasons.items():
                local = line.with_context(lang=langs[pid])
                bodies[pid] = Markup("<p>%s</p>") % local.env._(
                    "Plan e-mail %(name)s not sent: %(reason)s.",
                    name=local.name,
                    reason=reason,
                )
            partners.browse(list(bodies))._message_log_batch(bodies)
        return Counter(emails=len(to_send), skipped=len(reasons))

    # ------------------------------------------------------------------
    # Data per batch: one SQL each
    # ------------------------------------------------------------------
    def _fetch_plan_state(self):
        """``({(profile, line): last touch date}, {(profile, line): earliest
        open follow-up deadline}, {(profile, line): that follow-up's id})``
        for these profiles."""
        self.env.flush_all()
        self.env.cr.execute(
            SQL(
                """
                SELECT profile_id, plan_line_id, MAX(date)
                  FROM customer_touch
                 WHERE profile_id = ANY(%s) AND plan_line_id IS NOT NULL
              GROUP BY profile_id, plan_line_id
                """,
                self.ids,
            )
        )
        last_done = {(p, line): day for p, line, day in self.env.cr.fetchall()}
        self.env.cr.execute(
            SQL(
                """
                SELECT customer_profile_id, customer_plan_line_id, MIN(date_deadline),
                       (ARRAY_AGG(id ORDER BY date_deadline, id))[1]
                  FROM mail_activity
                 WHERE customer_profile_id = ANY(%s)
                   AND customer_plan_line_id IS NOT NULL
                   AND active
              GROUP BY customer_profile_id, customer_plan_line_id
                """,
                self.ids,
            )
        )
        rows = self.env.cr.fetchall()
        open_deadlines = {(p, line): day for p, line, day, __ in rows}
        open_ids = {(p, line): activity for p, line, __, activity in rows}
        return last_done, open_deadlines, open_ids

    def _fetch_key_moments(self, today):
        """``{profile id: [KeyMomentWindow]}``: the windows of the customers'
        open key moments (not settled, of an active kind) that have not
        closed yet, a day of margin for the owners' time zones; recorded on
        the day of their creation in the company's tiering time zone.  Windows
        still to open count too: they bring a due date within the normal
        interval earlier (the engine decides)."""
        self.env.flush_all()
        self.env.cr.execute(
            SQL(
                """
                SELECT p.id, m.id, m.date, t.window_days,
                       (m.create_date AT TIME ZONE 'UTC' AT TIME ZONE
                        COALESCE(c.customer_tiering_tz, 'UTC'))::date
                  FROM customer_key_moment m
                  JOIN customer_key_moment_type t ON t.id = m.type_id
                  JOIN customer_profile p
                    ON p.partner_id = m.partner_id AND p.company_id = m.company_id
                  JOIN res_company c ON c.id = p.company_id
                 WHERE p.id = ANY(%(ids)s::int4[])
                   AND m.active AND m.done IS NOT TRUE AND t.active
                   AND m.date >= %(since)s
              ORDER BY m.date, m.id
                """,
                ids=array_literal(self.ids),
                since=today - timedelta(days=1),
            )
        )
        rows = self.env.cr.fetchall()
        windows = defaultdict(list)
        for profile_id, moment_id, day, window_days, recorded_on in rows:
            windows[profile_id].append(
                cadence.key_moment_window(
                    day, window_days, recorded_on=recorded_on, moment_id=moment_id
                )
            )
        return windows

    def _store_plan_state(self, next_dates, today, checked=True):
        """Next touch date and compliance of these profiles, in one UPDATE;
        ``checked``: the whole plan was gone through (not only some lines)."""
        compliance = self._fetch_compliance(today)
        rows = []
        for profile in self:
            stats = compliance.get(profile.id, cadence.Compliance(0, 0))
            dates = next_dates.get(profile.id)
            rows.append(
                (
                    profile.id,
                    min(dates) if dates else None,
                    stats.due,
                    stats.done_on_time,
                    stats.rate,
                    today if checked else profile.followups_checked_on or None,
                )
            )
        names = [name for name, __ in PLAN_COLUMNS]
        types = ["int4", *(ctype for __, ctype in PLAN_COLUMNS)]
        # One array literal per column (a VALUES list costs PostgreSQL more
        # to parse than the UPDATE itself).
        arrays = [
            SQL("%s::%s[]", array_literal([row[i] for row in rows]), SQL(ctype))
            for i, ctype in enumerate(types)
        ]
        self.env.cr.execute(
            SQL(
                "UPDATE customer_profile AS p SET %s, %s FROM unnest(%s) "
                "AS v(id, %s) WHERE p.id = v.id",
                SQL(", ").join(
                    SQL("%s = v.%s", SQL.identifier(n), SQL.identifier(n))
                    for n in names
                ),
                # A constant: the error of an earlier scheduling, now done.
                SQL(clear_error_assignments("followups")),
                SQL(", ").join(arrays),
                SQL(", ").join(SQL.identifier(n) for n in names),
            )
        )
        self.invalidate_model([*names, *ERROR_COLUMNS])

    # ------------------------------------------------------------------
    # The nightly cron, in committed batches
    # ------------------------------------------------------------------
    @api.model
    def _trigger_followups(self, plans=None, tiers=None):
        """Ask the scheduling cron to run soon (plans changed).

        The customers of ``plans`` and of ``tiers`` are gone through again
        even where the scheduler already checked them today (one UPDATE).
        """
        if plans or tiers:
            self.env.flush_all()
            self.env.cr.execute(
                SQL(
                    "UPDATE customer_profile SET followups_checked_on = NULL "
                    "WHERE followups_checked_on IS NOT NULL "
                    "AND (plan_id = ANY(%s) OR pinned_plan_id = ANY(%s) "
                    "OR tier_id = ANY(%s))",
                    list(plans.ids if plans else []),
                    list(plans.ids if plans else []),
                    list(tiers.ids if tiers else []),
                )
            )
            self.invalidate_model(["followups_checked_on"])
        cron = self.env.ref(
            "customer_tiering.ir_cron_schedule_followups", raise_if_not_found=False
        )
        if cron:
            # sudo: triggering a cron is a system action.
            cron.sudo()._trigger()

    @api.model
    def _cron_schedule_followups(
        self, batch_size=None, time_budget=None, max_batches=None
    ):
        """Schedule the follow-ups of every customer of every company.

        Each batch is committed and marks its profiles as checked today: a
        killed or interrupted run resumes with the profiles not yet checked.
        """
        params = self.env["ir.config_parameter"].sudo()
        batch_size = batch_size or int(
            params.get_param("customer_tiering.followup_batch_size", 500)
        )
        time_budget = time_budget or int(
            params.get_param("customer_tiering.followup_time_budget", 240)
        )
        # Commit per batch (as _cron_refresh does); never inside tests.
        auto_commit = not getattr(threading.current_thread(), "testing", False)
        deadline = time.monotonic() + time_budget
        totals = Counter()
        done = batches = 0
        for company in self.env["res.company"].search([]):
            Profile = self.with_company(company)
            today = company._customer_tiering_today()
            domain = [
                ("company_id", "=", company.id),
                "|",
                ("followups_checked_on", "=", False),
                ("followups_checked_on", "<", today),
            ]
            # Counted once, then counted down; the batches follow the ids (a
            # search from the start, by id, goes through ever more profiles
            # already checked: quadratic over the run).
            remaining = Profile.search_count(domain)
            last_id = 0
            while batch := Profile.search(
                [*domain, ("id", ">", last_id)], limit=batch_size, order="id"
            ):
                last_id = batch[-1].id
                batch_totals, __ = Profile._schedule_followups_isolated(
                    batch.ids, today, fresh_transaction=auto_commit
                )
                totals.update(batch_totals)
                done += len(batch)
                remaining = max(remaining - len(batch), 0)
                batches += 1
                self.env["ir.cron"]._notify_progress(done=done, remaining=remaining)
                if auto_commit:
                    self.env.cr.commit()  # pylint: disable=invalid-commit
                if (max_batches and batches >= max_batches) or (
                    time.monotonic() > deadline
                ):
                    return totals
        _logger.info(
            "customer_tiering: follow-ups scheduled for %s customers: %s activities, "
            "%s e-mails queued, %s e-mails skipped, %s fallback owners, %s without "
            "owner, %s failed.",
            done,
            totals["activities"],
            totals["emails"],
            totals["skipped"],
            totals["fallback"],
            totals["no_owner"],
            totals["failed"],
        )
        return totals

    @api.model
    def _schedule_followups_isolated(self, ids, today, fresh_transaction=False):
        """One batch of the scheduler (profile ``ids`` of the current company):
        in bulk, else customer by customer (see fault_isolation).  A customer
        that fails (a broken plan e-mail template...) is logged, marked as
        checked ``today`` so that the next call does not start with it again,
        and retried tomorrow.  Returns the batch's counters (``failed`` too)
        and the failures (``{profile id: error}``)."""
        totals = Counter()
        failed = isolate(
            self.env.cr,
            ids,
            lambda batch: totals.update(self.browse(batch)._schedule_followups()),
            fresh_transaction=fresh_transaction,
        )
        if failed:
            self._mark_failed(failed, "followups", followups_checked_on=today)
            totals["failed"] += len(failed)
        return totals, failed

    @api.model
    def _demo_schedule_followups(self):
        """Demo data: about three months of plan history (about two touches in
        three done on time, as the seeds report, some late, some missed, with
        the customers' reactions), then the scheduling run of last night."""
        company = self.env.ref("base.main_company")
        today = company._customer_tiering_today()
        profiles = self.search([("company_id", "=", company.id)])
        profiles._sync_plans(today)
        start = today - timedelta(days=100)
        profiles.filtered("plan_id")._engine().write({"plan_start": start})
        notes = [
            ("positive", self.env._("Interested in the new product line.")),
            ("neutral", self.env._("Busy quarter, will come back to us.")),
            ("positive", self.env._("Asked for a quotation.")),
            ("negative", self.env._("Unhappy with the last delivery delay.")),
        ]
        touches = []
        owners = profiles._plan_owners()
        for profile in profiles.filtered("plan_id"):
            for line in profile.plan_id.line_ids.filtered(
                lambda line: line.kind == "activity"
            ):
                # Some owners are behind: their history stops a few days early.
                until = today - timedelta(days=(profile.id + line.id) % 3 * 6)
                last, count = None, 0
                while True:
                    deadline = cadence.next_due(
                        last_done=last,
                        start=start,
                        number=line.interval_number,
                        unit=line.interval_unit,
                    )
                    luck = (profile.id * 7 + line.id * 3 + count) % 10
                    delay = -(luck % 2) if luck < 8 else luck - 6
                    done = deadline + timedelta(days=delay)
                    if done >= until:
                        break
                    outcome, note = notes[(profile.id + count) % len(notes)]
                    touches.append(
                        {
                            "profile_id": profile.id,
                            "partner_id": profile.partner_id.id,
                            "company_id": company.id,
                            "tier_id": profile.tier_id.id,
                            "plan_id": line.plan_id.id,
                            "plan_line_id": line.id,
                            "activity_type_id": line.activity_type_id.id,
                            "summary": line.name,
                            "date": done,
                            "deadline": deadline,
                            "user_id": owners[profile.id, line.id].user_id,
                            "state": "missed" if luck == 9 else "done",
                            "outcome": outcome if luck < 9 else False,
                            "note": note if luck < 9 else False,
                        }
                    )
                    last, count = done, count + 1
        self.env["customer.touch"].create(touches)
        stats = profiles.with_company(company)._schedule_followups()
        _logger.info("customer_tiering: demo scheduling run: %s", dict(stats))

    # ------------------------------------------------------------------
    # UI
    # ------------------------------------------------------------------
    def action_schedule_followups(self):
        self._check_manager()
        for company, profiles in self.grouped("company_id").items():
            profiles.with_company(company)._schedule_followups()
        return True
