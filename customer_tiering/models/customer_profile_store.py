# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The store step of the refresh: one place that writes a batch's outcomes.

:meth:`CustomerProfile._store` takes the engine's ``refresh.Outcome`` values
of a batch (see ``engine/refresh.py``) and writes them in bulk: one UPDATE of
the profiles (only rows whose values changed get a new ``write_date``), then
only for the customers concerned: tier history, chatter and partner fields
where the carried tier moved (and the plan that follows), the partners'
health band where it moved, health snapshots, health-risk warnings.  The ORM
cache of what was written in SQL is invalidated in one place
(:meth:`_store_invalidate`).

Fault isolation lives here too: a batch that fails is retried customer by
customer, and a customer that fails is logged and marked on its profile
(``refresh_error``) while the batch goes on (see ``fault_isolation.py``).
"""

import functools
import json
import logging
import operator
from collections import defaultdict
from datetime import timedelta

from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL

from ..engine import refresh
from .customer_profile import (
    ERROR_COLUMNS,
    ERROR_STEPS,
    OVERRIDE_FIELDS,
    clear_error_assignments,
)
from .fault_isolation import error_text, is_conflict, isolate
from .sql_arrays import array_literal

_logger = logging.getLogger(__name__)

# The profile columns the refresh rewrites: (column, SQL type, the Outcome
# attribute it comes from).
PROFILE_COLUMNS = (
    ("revenue", "numeric", "revenue"),
    ("revenue_prev", "numeric", "revenue_prev"),
    ("growth", "numeric", "growth"),
    ("order_count", "int4", "order_count"),
    ("order_count_prev", "int4", "order_count_prev"),
    ("lifetime_revenue", "numeric", "lifetime_revenue"),
    ("last_order_date", "date", "last_order_date"),
    ("computed_tier_id", "int4", "computed_tier_id"),
    ("tier_id", "int4", "tier_id"),
    ("pending_downgrade_since", "date", "pending_since"),
    ("override_active", "bool", "override_active"),
    ("excluded_order_count", "int4", "excluded_order_count"),
    ("health_score", "float8", "health_score"),
    ("health_band", "varchar", "health_band"),
    ("health_trend", "float8", "health_trend"),
    ("health_data", "jsonb", "health_data"),
)
COLUMN_TYPES = tuple((name, ctype) for name, ctype, __ in PROFILE_COLUMNS)
_row_attributes = operator.attrgetter(
    "profile_id", *(attr for __, __, attr in PROFILE_COLUMNS)
)
_DATA = 1 + [attr for __, __, attr in PROFILE_COLUMNS].index("health_data")


def _row_values(outcome):
    """The profile id and PROFILE_COLUMNS values of ``outcome``."""
    return list(_row_attributes(outcome))


def compact_json(value):
    """JSON without spaces: one explanation per customer, rewritten nightly."""
    return json.dumps(value, separators=(",", ":"))


@functools.cache
def _update_statement(columns, single=False):
    """The text of ``_write_rows``' UPDATE for ``columns`` (built once: the
    confirm hook writes one row at a time).  Its parameters, by name: one
    array per column (``a0``, the profile ids, ``a1``...; ``single``: one
    value each), ``now``, ``today``, ``run`` and ``uid``."""
    names = [SQL.identifier(name).code for name, __ in columns]
    types = ("int4", *(ctype for __, ctype in columns))
    if single:
        assignments = ", ".join(
            f"{name} = %(a{i})s::{ctype}"
            for i, (name, ctype) in enumerate(zip(names, types[1:], strict=True), 1)
        )
        return f"""
            UPDATE customer_profile
               SET {assignments},
                   evaluated_at = %(now)s,
                   evaluated_on = %(today)s,
                   refresh_run = COALESCE(%(run)s, refresh_run),
                   {clear_error_assignments("refresh")},
                   write_date = %(now)s,
                   write_uid = %(uid)s
             WHERE id = %(a0)s
        """
    arrays = ", ".join(f"%(a{i})s::{ctype}[]" for i, ctype in enumerate(types))
    changed = "({}) IS DISTINCT FROM ({})".format(
        ", ".join(f"p.{n}" for n in names), ", ".join(f"v.{n}" for n in names)
    )
    return f"""
        UPDATE customer_profile AS p
           SET {", ".join(f"{n} = v.{n}" for n in names)},
               evaluated_at = %(now)s,
               evaluated_on = %(today)s,
               refresh_run = COALESCE(%(run)s, p.refresh_run),
               {clear_error_assignments("refresh")},
               write_date = CASE WHEN {changed} THEN %(now)s ELSE p.write_date END,
               write_uid = CASE WHEN {changed} THEN %(uid)s ELSE p.write_uid END
          FROM unnest({arrays}) AS v(id, {", ".join(names)})
         WHERE p.id = v.id
    """


# One class per step or feature (see customer_profile_gather.py).
class CustomerProfile(models.Model):
    _inherit = "customer.profile"  # pylint: disable=consider-merging-classes-inherited

    # ------------------------------------------------------------------
    # The step
    # ------------------------------------------------------------------
    @api.model
    def _store(self, company, today, outcomes, cause=None, run=None):
        """Write ``outcomes`` (of customers of ``company`` evaluated for
        ``today``, all with a profile) in bulk; ``cause`` names a
        configuration change for the tier history, ``run`` the full run that
        went through them."""
        if not outcomes:
            return
        warnings = self._store_select_warnings(company, outcomes)
        rows = [_row_values(o) for o in outcomes]
        for row, o in zip(rows, outcomes, strict=True):
            row[_DATA] = compact_json(o.health_data)
        self._write_rows(COLUMN_TYPES, rows, fields.Datetime.now(), today, run)
        if warnings:
            self._store_warned_on(today, [o for o, __ in warnings])
        self._store_invalidate()
        moved = [o for o in outcomes if o.tier_cause]
        if moved:
            self._store_tier_changes(company, moved, cause=cause)
        ended = [o.profile_id for o in outcomes if o.override_ended]
        if ended:
            self.browse(ended).write(dict.fromkeys(OVERRIDE_FIELDS, False))
        self._store_partner_bands(company, [o for o in outcomes if o.band_changed])
        self._store_snapshots(company, today, [o for o in outcomes if o.snapshot])
        if warnings:
            self._store_warnings(today, warnings)
        if moved:
            self._store_plan_changes([o.profile_id for o in moved])

    def _store_invalidate(self):
        """Drop from the ORM cache what the store's SQL rewrote: the profiles'
        columns and what is computed from them, on the profiles and the
        partners."""
        self.invalidate_model(
            [
                *(name for name, __ in COLUMN_TYPES),
                "evaluated_at",
                "evaluated_on",
                "refresh_run",
                "health_warned_on",
                *ERROR_COLUMNS,
                "write_date",
                "write_uid",
                "health_reasons",
                "health_breakdown",
                "health_snapshot_ids",
            ]
        )
        self.env["res.partner"].invalidate_model(
            [
                "customer_health_score",
                "customer_health_trend",
                "customer_health_reasons",
                "customer_health_breakdown",
                "customer_health_band",
                "customer_health_snapshot_count",
            ]
        )
        self.env["customer.health.snapshot"].invalidate_model()

    # ------------------------------------------------------------------
    # Warnings: the ones due that have someone to act on them
    # ------------------------------------------------------------------
    def _store_select_warnings(self, company, outcomes):
        """``[(outcome, user)]``: the warnings due whose customer is active
        and has a responsible (see ``_health_responsible``)."""
        due = [o for o in outcomes if o.warning]
        if not due:
            return []
        # Records only for the customers to warn (a few per night).
        partners = self.env["res.partner"].browse([o.partner_id for o in due])
        warnings, unassigned = [], []
        for outcome, partner in zip(due, partners, strict=True):
            if not partner.active:
                continue  # archived: no follow-up (its activities were removed)
            user = self._health_responsible(partner, company)
            if user:
                warnings.append((outcome, user))
            else:
                unassigned.append(outcome.partner_id)
        if unassigned:
            _logger.warning(
                "customer_tiering: no one to follow up the health of %s customers "
                "(company %s, e.g. partners %s): set their salesperson or a "
                "default user in the Settings.",
                len(unassigned),
                company.id,
                unassigned[:10],
            )
        return warnings

    def _store_warned_on(self, today, outcomes):
        self.env.cr.execute(
            SQL(
                "UPDATE customer_profile SET health_warned_on = %s "
                "WHERE id = ANY(%s::int4[])",
                today,
                array_literal(o.profile_id for o in outcomes),
            )
        )

    # ------------------------------------------------------------------
    # The plan that follows a new tier
    # ------------------------------------------------------------------
    def _store_plan_changes(self, profile_ids):
        """The plan of the customers whose tier moved, and the new plan's first
        follow-ups at once (the scheduler will not go through them again
        today)."""
        # sudo: scheduling is system work, whoever's order moved the tier.
        moved = self.browse(profile_ids)._sync_plans().sudo()
        if (
            self.env.context.get("customer_tiering_defer_followups")
            or self.env.context.get("install_module") == "customer_tiering"
        ):
            # The caller lays down a plan history first and schedules itself
            # (this addon's demo data, some tests).
            return
        for company, profiles in moved.grouped("company_id").items():
            profiles.with_company(company)._schedule_followups()

    # ------------------------------------------------------------------
    # Fault isolation
    # ------------------------------------------------------------------
    @api.model
    def _refresh_partners_isolated(self, partners):
        """Re-evaluate ``partners`` (any contacts) in the current company after
        a user's own action (the sales-order and invoice hooks): all or nothing
        per customer, and never an error for the user's action.

        A customer that fails is rolled back, logged and marked on its profile
        (``refresh_error``).  A concurrency error is raised again once rolled
        back: within this transaction's snapshot it would only repeat, and
        Odoo retries the whole request in a new one.
        """
        commercial = partners.commercial_partner_id
        if not commercial:
            return
        ids = self._ensure_profiles(commercial.ids, self.env.company)
        failed = isolate(
            self.env.cr, ids, lambda batch: self.browse(batch)._refresh(), tries=1
        )
        conflict = next(filter(is_conflict, failed.values()), None)
        if conflict is not None:
            raise conflict
        if failed:
            self._mark_failed(failed, "refresh", level=logging.ERROR)

    @api.model
    def _refresh_isolated(self, ids, cause=None, run=None, fresh_transaction=False):
        """One batch of the nightly refresh (profile ``ids`` of the current
        company): in bulk, else customer by customer (see fault_isolation).
        The customers that fail are logged and marked as gone through by
        ``run``: the run goes on past them, the next run tries them again."""
        failed = isolate(
            self.env.cr,
            ids,
            lambda batch: self.browse(batch)._refresh(cause=cause, run=run),
            fresh_transaction=fresh_transaction,
        )
        if failed:
            self._mark_failed(failed, "refresh", refresh_run=run)
        return failed

    @api.model
    def _mark_failed(self, errors, step, level=logging.WARNING, **columns):
        """Log ``errors`` (``{profile id: exception}``) of ``step`` and show
        them on the profiles (``refresh_error``...), setting ``columns`` too
        (the run markers that let a run go on past them).

        A profile whose row is locked or was changed by a concurrent
        transaction cannot be marked: it is only logged (the concurrent
        transaction was refreshing it).
        """
        self.env.cr.execute(
            SQL(
                "SELECT id, partner_id FROM customer_profile WHERE id = ANY(%s)",
                list(errors),
            )
        )
        partner_of = dict(self.env.cr.fetchall())
        texts = {}
        for profile_id, error in errors.items():
            texts[profile_id] = error_text(error)
            _logger.log(
                level,
                "customer_tiering: customer %s (profile %s) skipped by the %s: %s",
                partner_of.get(profile_id),
                profile_id,
                dict(ERROR_STEPS)[step].lower(),
                texts[profile_id],
                # A traceback for what is not a user-readable error.
                exc_info=None if isinstance(error, UserError) else error,
            )
        now = fields.Datetime.now()

        def mark(ids):
            self.env.cr.execute(
                SQL(
                    """
                    UPDATE customer_profile AS p
                       SET refresh_error = v.error,
                           refresh_error_on = %(now)s,
                           refresh_error_step = %(step)s
                           %(columns)s
                      FROM unnest(%(ids)s::int4[], %(errors)s::text[]) AS v(id, error)
                     WHERE p.id = v.id
                    """,
                    now=now,
                    step=step,
                    columns=SQL("").join(
                        SQL(", %s = %s", SQL.identifier(name), value)
                        for name, value in columns.items()
                    ),
                    ids=ids,
                    errors=[texts[profile_id] for profile_id in ids],
                )
            )

        unmarked = isolate(self.env.cr, list(errors), mark)
        if unmarked:
            _logger.warning(
                "customer_tiering: profiles %s could not be marked as failed "
                "(concurrent update); they stay to do.",
                sorted(unmarked),
            )
        self.invalidate_model([*ERROR_COLUMNS, *columns])

    @api.model
    @api.model
    @api.model

    # ------------------------------------------------------------------
    # Writing
    # ------------------------------------------------------------------
    def _write_rows(self, columns, rows, now, today, run=None):
        """Bulk UPDATE of the profiles' ``columns``: one statement, one array
        parameter per column; each row is the profile id followed by the
        values of ``columns``.  Every row gets the evaluation time and run
        marker; ``write_date`` moves only where a value changed.  None of
        these columns is indexed, so that PostgreSQL can update the rows in
        place (HOT, see ``init``)."""
        if not rows:
            return
        if len(rows) == 1:  # the confirm hook: plain values plan faster
            values = {f"a{i}": value for i, value in enumerate(rows[0])}
        else:
            values = {
                f"a{i}": array_literal(column)
                for i, column in enumerate(zip(*rows, strict=True))
            }
        self.env.cr.execute(
            SQL(
                _update_statement(columns, len(rows) == 1),
                **values,
                now=now,
                today=today,
                run=run,
                uid=self.env.uid,
            )
        )

    def _store_tier_changes(self, company, outcomes, cause=None):
        """History, chatter and partner fields of the customers whose carried
        tier moved; ``cause`` (a configuration change) names the computed
        moves."""
        profiles = self.browse([o.profile_id for o in outcomes])
        history_vals = []
        by_tier = defaultdict(list)
        for profile, o in zip(profiles, outcomes, strict=True):
            row_cause = (
                cause
                if cause and o.tier_cause in ("computed_up", "computed_down")
                else str(o.tier_cause)
            )
            history_vals.append(
                {
                    "profile_id": o.profile_id,
                    "partner_id": o.partner_id,
                    "company_id": company.id,
                    "from_tier_id": o.from_tier_id or False,
                    "to_tier_id": o.tier_id,
                    "cause": row_cause,
                    "user_id": self.env.uid,
                    "revenue": o.revenue,
                    "growth": o.growth or 0.0,
                    "growth_known": o.growth is not None,
                    "order_count": o.order_count,
                    "lifetime_revenue": o.lifetime_revenue,
                    "reason": profile.override_reason
                    if row_cause == "override_set"
                    else False,
                }
            )
            by_tier[o.tier_id].append(o.partner_id)
        # sudo: history is system-written (users and managers only read it).
        history = self.env["customer.tier.history"].sudo().create(history_vals)
        # Partners: one write per target tier, in this company's column only.
        Partner = self.env["res.partner"].with_company(company)
        for tier_id, partner_ids in by_tier.items():
            Partner.browse(partner_ids).sudo().write(  # sudo: the field is
                # system-maintained; a salesperson confirming an order may not
                # be allowed to write every partner of the company.
                {"customer_tier_id": tier_id}
            )
        history._post_chatter()

    @api.model
    @api.model
    def _store_partner_bands(self, company, outcomes):
        """The band of ``outcomes`` on their partners, where it changed: one
        UPDATE.  The score is read from the profile.

        The field is company-dependent (one jsonb column); the statement
        merges this company's key as the ORM would, but skips unchanged rows in
        SQL and needs no write() per partner.
        """
        if not outcomes:
            return
        Partner = self.env["res.partner"]
        Partner.flush_model(["customer_health_band"])
        self.env.cr.execute(
            SQL(
                """
                UPDATE res_partner AS p
                   SET customer_health_band = jsonb_strip_nulls(
                           COALESCE(p.customer_health_band, '{}'::jsonb)
                           || jsonb_build_object(%(key)s, v.band::varchar))
                  FROM unnest(%(ids)s::int4[], %(bands)s::varchar[]) AS v(id, band)
                 WHERE p.id = v.id
                   AND (p.customer_health_band ->> %(key)s)
                       IS DISTINCT FROM v.band::varchar
                """,
                key=str(company.id),
                ids=array_literal(o.partner_id for o in outcomes),
                bands=array_literal(o.health_band for o in outcomes),
            )
        )

    def _store_snapshots(self, company, today, outcomes):
        """One statement for the batch's snapshots: few on most nights, but
        every customer gets its monthly one on the first night of a month.

        A customer that has a snapshot dated that day gets it rewritten (the
        day's snapshot follows the day's last evaluation; a band change keeps
        its reason); the others get a new row, unless their snapshot is a
        rewrite only (``refresh.REWRITE``)."""
        if not outcomes:
            return
        self.env["customer.health.snapshot"].flush_model()
        self.env.cr.execute(
            SQL(
                """
                WITH v AS (
                    SELECT * FROM unnest(%(profiles)s::int4[], %(partners)s::int4[],
                                         %(scores)s::float8[], %(bands)s::varchar[],
                                         %(tiers)s::int4[], %(reasons)s::varchar[])
                        AS v(profile_id, partner_id, score, band, tier_id, reason)
                ),
                     rewritten AS (
                    UPDATE customer_health_snapshot AS s
                       SET score = v.score,
                           band = v.band,
                           tier_id = v.tier_id,
                           reason = CASE WHEN v.reason = 'band'
                                         THEN 'band' ELSE s.reason END,
                           write_uid = %(uid)s,
                           write_date = %(now)s
                      FROM v
                     WHERE s.profile_id = v.profile_id AND s.date = %(today)s
                 RETURNING s.profile_id
                )
                INSERT INTO customer_health_snapshot
                       (profile_id, partner_id, company_id, date, score, band,
                        tier_id, reason, create_uid, create_date, write_uid,
                        write_date)
                SELECT v.profile_id, v.partner_id, %(company_id)s, %(today)s,
                       v.score, v.band, v.tier_id, v.reason, %(uid)s, %(now)s,
                       %(uid)s, %(now)s
                  FROM v
                 WHERE v.reason IS NOT NULL
                   AND v.profile_id NOT IN (SELECT profile_id FROM rewritten)
                """,
                profiles=array_literal(o.profile_id for o in outcomes),
                partners=array_literal(o.partner_id for o in outcomes),
                scores=array_literal(o.health_score for o in outcomes),
                bands=array_literal(o.health_band for o in outcomes),
                tiers=array_literal(o.tier_id or None for o in outcomes),
                reasons=array_literal(
                    None if o.snapshot == refresh.REWRITE else o.snapshot
                    for o in outcomes
                ),
                company_id=company.id,
                today=today,
                uid=self.env.uid,
                now=fields.Datetime.now(),
            )
        )

    @api.model
    def _store_warnings(self, today, warnings):
        """One "Health risk review" activity per warned customer, for its
        account manager, due by the tier's response time; the sales team
        leader of customers whose tier asks for it is notified too."""
        activity_type = self.env.ref("customer_tiering.mail_activity_type_health_risk")
        model_id = self.env["ir.model"]._get_id("res.partner")
        vals_list, leaders = [], []
        profiles = self.browse([o.profile_id for o, __ in warnings])
        for profile, (outcome, user) in zip(profiles, warnings, strict=True):
            deadline = today + timedelta(days=profile.tier_id.response_days)
            local = profile.with_context(lang=user.lang or self.env.lang)
            note = local._health_warning_note(outcome.warning, outcome.warning_peak)
            vals_list.append(
                {
                    "res_model_id": model_id,
                    "res_id": profile.partner_id.id,
                    "activity_type_id": activity_type.id,
                    "summary": local.env._("Health risk review"),
                    "note": note,
                    "user_id": user.id,
                    "date_deadline": deadline,
                }
            )
            leader = self._health_team_leader(profile.partner_id)
            if profile.tier_id.notify_team_leader and leader and leader != user:
                leaders.append((profile.partner_id, leader, note))
        # sudo: system-generated follow-ups, assigned to users who may not be
        # the one whose action triggered the evaluation.
        self.env["mail.activity"].sudo().with_context(
            mail_activity_quick_update=True
        ).create(vals_list)
        for partner, leader, note in leaders:
            partner.sudo().message_post(  # sudo: same system-generated warning
                body=note,
                partner_ids=leader.partner_id.ids,
                subtype_xmlid="mail.mt_note",
            )
