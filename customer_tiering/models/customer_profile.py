# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Per customer and company tiering state, and the refresh that maintains it.

The profile is a narrow table (one row per commercial partner and company):
metrics, computed and carried tier, pending downgrade, override.  Rewriting it
in bulk is cheap; the wide ``res_partner`` table only receives the few values
that users filter and group on (``customer_tier_id``...), and only when they
change.
"""

import logging
import threading
import time

from dateutil.relativedelta import relativedelta

from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError
from odoo.tools import SQL
from odoo.tools.sql import drop_index, make_index_name

from ..engine import refresh
from .sql_arrays import array_literal

_logger = logging.getLogger(__name__)

# Customers evaluated together (one SQL per source each).
BATCH = 1000

CAUSES = [
    ("initial", "First evaluation"),
    ("computed_up", "Computed upgrade"),
    ("computed_down", "Computed downgrade"),
    ("override_set", "Override set"),
    ("override_ended", "Override ended"),
    ("config", "Configuration change"),
    ("strategic", "Strategic flag changed"),
]

# A customer that could not be refreshed or scheduled keeps the error of the
# step that failed until that step next succeeds for it.
ERROR_STEPS = [
    ("refresh", "Tier and health refresh"),
    ("followups", "Follow-up scheduling"),
]
ERROR_COLUMNS = ("refresh_error", "refresh_error_on", "refresh_error_step")
MANAGER = "customer_tiering.group_customer_tiering_manager"


def clear_error_assignments(step):
    """SET assignments of an UPDATE of customer_profile that clear the error
    of ``step`` (a constant of ERROR_STEPS), keeping another step's."""
    assert step in dict(ERROR_STEPS)
    return ", ".join(
        f"{column} = CASE WHEN refresh_error_step = '{step}' THEN NULL "
        f"ELSE {column} END"
        for column in ERROR_COLUMNS
    )


OVERRIDE_FIELDS = (
    "override_tier_id",
    "override_reason",
    "override_until",
    "override_user_id",
    "override_date",
)
# The profile's figures, its tier and its plan state are the engine's: the
# refresh and the scheduler store them (in bulk SQL, or with write() under
# ENGINE_CONTEXT as superuser, see ``_engine``).  Written any other way they
# would bypass the tier history, the chatter and the partner fields; a tier
# is set by hand with an override.
ENGINE_CONTEXT = "customer_tiering_engine"
ENGINE_FIELDS = frozenset(
    {
        "revenue",
        "revenue_prev",
        "growth",
        "order_count",
        "order_count_prev",
        "lifetime_revenue",
        "last_order_date",
        "computed_tier_id",
        "tier_id",
        "pending_downgrade_since",
        "override_active",
        "excluded_order_count",
        "health_score",
        "health_band",
        "health_trend",
        "health_data",
        "health_warned_on",
        "evaluated_at",
        "evaluated_on",
        "refresh_run",
        "plan_id",
        "plan_start",
        "next_touch_date",
        "touches_due",
        "touches_on_time",
        "plan_compliance",
        "followups_checked_on",
        "refresh_error",
        "refresh_error_on",
        "refresh_error_step",
    }
)
# A profile is the customer's in a company: moved by the partner merge only.
KEY_FIELDS = frozenset({"partner_id", "company_id"})


class CustomerProfile(models.Model):
    _name = "customer.profile"
    _description = "Customer Tiering Profile"
    _order = "company_id, partner_id"
    _rec_name = "partner_id"
    _check_company_auto = True

    partner_id = fields.Many2one(
        "res.partner",
        string="Customer",
        required=True,
        index=True,
        ondelete="cascade",
        domain="[('is_company', '=', True)]",
    )
    company_id = fields.Many2one(
        "res.company", required=True, index=True, ondelete="cascade"
    )
    currency_id = fields.Many2one(related="company_id.currency_id")
    user_id = fields.Many2one(
        related="partner_id.user_id",
        string="Salesperson",
        help="The customer's salesperson (the owner of the account).",
    )
    tier_id = fields.Many2one(
        "customer.tier",
        index=True,
        ondelete="restrict",
        help="The tier the customer carries: computed, or set by an override.",
    )
    tier_color = fields.Integer(related="tier_id.color")
    computed_tier_id = fields.Many2one(
        "customer.tier",
        ondelete="set null",
        help="The tier the customer's figures qualify for today.",
    )
    pending_downgrade_since = fields.Date(
        help="The customer's figures have been below its tier since this date; "
        "it drops a tier when the grace period is over.",
    )
    override_tier_id = fields.Many2one("customer.tier", ondelete="set null")
    override_reason = fields.Text()
    override_until = fields.Date(
        string="Override Ends", help="Leave empty for an override without end."
    )
    override_user_id = fields.Many2one("res.users", string="Overridden By")
    override_date = fields.Datetime(string="Overridden On")
    override_active = fields.Boolean(string="Overridden", index=True)
    revenue = fields.Monetary(help="Revenue over the trailing window.")
    revenue_prev = fields.Monetary(
        string="Previous Revenue", help="Revenue over the window before."
    )
    growth = fields.Float(
        string="Growth (%)",
        aggregator="avg",
        help="Revenue growth against the window before; empty when the customer "
        "had no revenue then.",
    )
    order_count = fields.Integer(
        string="Recent Orders", help="Orders in the order-frequency window."
    )
    order_count_prev = fields.Integer(
        string="Orders Before", help="Orders in the frequency window before."
    )
    lifetime_revenue = fields.Monetary()
    last_order_date = fields.Date()
    excluded_order_count = fields.Integer(
        string="Orders Left Out",
        help="Orders (or invoices) in a currency that had no exchange rate on "
        "or before their date: their amount in company currency is unknown, so "
        "they count in no figure. Set the currency's rates, then refresh.",
    )
    strategic = fields.Boolean(related="partner_id.customer_strategic")
    evaluated_at = fields.Datetime(
        string="Last Evaluation",
        help="When the figures and the tier were last refreshed.",
    )
    evaluated_on = fields.Date(
        string="Evaluated For",
        help="The day the figures were computed for (their windows end then).",
    )
    refresh_run = fields.Integer(
        help="The company's full-refresh run that last went through this profile "
        "(evaluated it, or logged why it could not).",
    )
    refresh_error = fields.Text(
        string="Last Refresh Error",
        readonly=True,
        groups=MANAGER,
        help="Why the last refresh or follow-up scheduling of this customer "
        "failed; the customer was skipped. Cleared when that step next "
        "succeeds for the customer.",
    )
    refresh_error_on = fields.Datetime(
        string="Refresh Failed On", readonly=True, groups=MANAGER
    )
    refresh_error_step = fields.Selection(
        ERROR_STEPS, string="Failed Step", readonly=True, groups=MANAGER
    )
    history_ids = fields.One2many(
        "customer.tier.history", "profile_id", string="Tier History"
    )

    _sql_constraints = [
        (
            "partner_company_uniq",
            "UNIQUE(partner_id, company_id)",
            "A customer has one tiering profile per company.",
        ),
    ]

    def init(self):
        # Every profile is rewritten each night (evaluation time, run marker,
        # health): free room in each page lets PostgreSQL update the rows in
        # place (HOT) instead of moving them and touching every index.
        self.env.cr.execute(
            SQL("ALTER TABLE %s SET (fillfactor = 50)", SQL.identifier(self._table))
        )
        # Indexed before 18.0.1.0.0 was released; Odoo keeps indexes it no
        # longer expects, and this one would prevent those in-place updates.
        drop_index(
            self.env.cr, make_index_name(self._table, "refresh_run"), self._table
        )

    # ------------------------------------------------------------------
    # Integrity: engine-owned figures, audit trail
    # ------------------------------------------------------------------
    def _engine(self):
        """These profiles, to store what the engine decided with write()."""
        # sudo: the engine stores system-maintained state, whatever the user
        # whose action triggered it may write; ENGINE_CONTEXT lets the write
        # through _check_engine_fields (only with superuser rights, so that
        # a context passed over RPC cannot).
        return self.sudo().with_context(**{ENGINE_CONTEXT: True})

    def _check_engine_fields(self, names, operation):
        """Refuse to write the engine's fields outside the engine."""
        if self.env.su and self.env.context.get(ENGINE_CONTEXT):
            return
        if ENGINE_FIELDS & set(names) or (
            operation == "write" and KEY_FIELDS & set(names)
        ):
            # Access errors first: who may not write profiles at all is told so.
            self.check_access(operation)
            raise UserError(
                self.env._(
                    "The tier, the figures and the plan state of a customer are "
                    "computed by Customer Tiering and cannot be changed directly: "
                    "set an override instead (Override Tier on the customer)."
                )
            )

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            self._check_engine_fields(vals, "create")
        return super().create(vals_list)

    def write(self, vals):
        self._check_engine_fields(vals, "write")
        return super().write(vals)

    @api.ondelete(at_uninstall=False)
    def _unlink_except_audited(self):
        """A profile with tier history, health snapshots or touches keeps
        them: deleting it would delete them with it (database cascade)."""
        if self._audited_partner_ids(profile_ids=self.ids):
            raise UserError(
                self.env._(
                    "This tiering profile has a tier history, health snapshots "
                    "or touches: they are an audit trail and cannot be deleted."
                )
            )

    @api.model
    def _audited_partner_ids(self, profile_ids=None, partner_ids=None):
        """Partner ids of the profiles (given by id, or by partner) that have
        an audit trail (tier history, health snapshots, touches), in one SQL."""
        self.env.flush_all()
        if profile_ids is not None:
            column, ids = SQL("p.id"), profile_ids
        else:
            column, ids = SQL("p.partner_id"), partner_ids
        self.env.cr.execute(
            SQL(
                """
                SELECT DISTINCT p.partner_id FROM customer_profile p
                 WHERE %(column)s = ANY(%(ids)s::int4[]) AND (
                       EXISTS (SELECT 1 FROM customer_tier_history
                                WHERE profile_id = p.id)
                    OR EXISTS (SELECT 1 FROM customer_health_snapshot
                                WHERE profile_id = p.id)
                    OR EXISTS (SELECT 1 FROM customer_touch
                                WHERE profile_id = p.id))
                """,
                column=column,
                ids=array_literal(ids),
            )
        )
        return [row[0] for row in self.env.cr.fetchall()]

    # ------------------------------------------------------------------
    # Refresh entry points
    # ------------------------------------------------------------------
    @api.model
    def _refresh_partners(self, partners, companies=None, today=None, cause=None):
        """Re-evaluate ``partners`` (any contacts: their companies are used).

        Used by the sales-order hooks and by the override wizard: one aggregate
        for these customers only, in the current transaction.
        """
        commercial = partners.commercial_partner_id
        if not commercial:
            return self.browse()
        profiles = self.browse()
        for company in companies or self.env.company:
            ids = self._ensure_profiles(commercial.ids, company)
            profiles |= self.browse(ids)._refresh(today=today, cause=cause)
        return profiles

    def _refresh(self, today=None, cause=None, run=None):
        """Re-evaluate these profiles (all of one company) and store the
        results: the three steps of the pipeline, gather (one SQL per source,
        ``customer_profile_gather.py``), evaluate (the pure engine,
        ``engine/refresh.py``) and store (in bulk,
        ``customer_profile_store.py``)."""
        if not self:
            return self
        self.flush_model(["partner_id", "company_id"])
        self.env.cr.execute(
            SQL(
                "SELECT partner_id, id, company_id FROM customer_profile "
                "WHERE id = ANY(%s::int4[]) ORDER BY id",
                array_literal(self.ids),
            )
        )
        rows = self.env.cr.fetchall()
        company = self.env["res.company"].browse({row[2] for row in rows})
        company.ensure_one()
        today = today or company._customer_tiering_today()
        settings = self._refresh_settings(company)
        scope = self._gather_scope(company, today, {row[0]: row[1] for row in rows})
        outcomes = refresh.evaluate(settings, self._gather(scope), today)
        self._store(company, today, outcomes, cause=cause, run=run)
        return self

    @api.model
    def _refresh_settings(self, company):
        """The engine's view of ``company``'s ladder, scorecard and settings;
        a UserError saying why its customers cannot be evaluated."""
        return refresh.Settings(
            rules=tuple(
                self.env["customer.tier"]
                .with_company(company)
                ._check_usable_ladder(company)
            ),
            grace_days=company.customer_tiering_grace_days,
            scorecard=tuple(
                self.env["customer.health.dimension"]._get_scorecard(company)
            ),
            healthy_min=company.customer_health_healthy_min,
            watch_min=company.customer_health_watch_min,
            drop_points=company.customer_health_drop_points,
        )

    @api.model
    def evaluate_as_of(self, partners, as_of, company=None):
        """Evaluate ``partners`` (any contacts: their commercial partners are
        evaluated) in ``company`` (default: the current one) as the nightly
        refresh would have on the day ``as_of``, from what existed then (see
        the README, "Evaluating a past day").  Writes nothing.

        Returns one plain dict per commercial partner: ``partner_id``,
        ``company_id``, ``as_of``, ``tier_code`` (the tier carried),
        ``computed_tier_code``, ``revenue``, ``revenue_prev``, ``growth``,
        ``order_count``, ``order_count_prev``, ``lifetime_revenue``,
        ``last_order_date``, ``health_score``, ``health_band``,
        ``health_trend``, ``reasons`` (texts, in the user's language),
        ``reason_keys`` (their dimensions) and ``raw`` (``{dimension: raw
        value}``, None without data: the health score's inputs).
        """
        company = company or self.env.company
        if company not in self.env.user.company_ids:
            raise AccessError(
                self.env._("You cannot evaluate the customers of %s.", company.name)
            )
        self.check_access("read")
        as_of = fields.Date.to_date(as_of)
        if as_of > company._customer_tiering_today():
            raise UserError(
                self.env._("A customer cannot be evaluated for a future day.")
            )
        commercial = partners.commercial_partner_id
        # Only the customers whose figures the user may read: their profile,
        # or the partner where it has none (yet).
        readable = self.search(
            [("partner_id", "in", commercial.ids), ("company_id", "=", company.id)]
        )
        profile_of = dict.fromkeys(
            commercial.with_company(company)._filtered_access("read").ids
        )
        self.flush_model()
        self.env.cr.execute(
            SQL(
                "SELECT partner_id, id FROM customer_profile "
                "WHERE company_id = %s AND partner_id = ANY(%s::int4[])",
                company.id,
                array_literal(commercial.ids),
            )
        )
        for partner_id, profile_id in self.env.cr.fetchall():
            if profile_id in readable.ids:
                profile_of[partner_id] = profile_id
            else:
                profile_of.pop(partner_id, None)
        # sudo: the tiers' codes, whatever companies the user has selected.
        tiers = self.env["customer.tier"].sudo().with_context(active_test=False)
        labels, number = self._health_labels()
        results = []
        for outcomes in self._outcomes_as_of(company, as_of, profile_of):
            for o in outcomes:
                dims = o.health_data["raw"]
                review = o.health_data.get("review_date")
                results.append(
                    {
                        "partner_id": o.partner_id,
                        "company_id": company.id,
                        "as_of": as_of,
                        "tier_code": tiers.browse(o.tier_id).code,
                        "computed_tier_code": tiers.browse(o.computed_tier_id).code,
                        "revenue": o.revenue,
                        "revenue_prev": o.revenue_prev,
                        "growth": o.growth,
                        "order_count": o.order_count,
                        "order_count_prev": o.order_count_prev,
                        "lifetime_revenue": o.lifetime_revenue,
                        "last_order_date": o.last_order_date,
                        "health_score": o.health_score,
                        "health_band": o.health_band,
                        "health_trend": o.health_trend,
                        "reasons": [
                            self._health_reason(
                                key,
                                dims[key],
                                number,
                                labels,
                                review and fields.Date.to_date(review),
                            )
                            for key in o.reasons
                        ],
                        "reason_keys": list(o.reasons),
                        "raw": dims,
                    }
                )
        return results

    @api.model
    def _outcomes_as_of(
        self, company, as_of, profile_of, settings=None, ahead=(), memo=None
    ):
        """Gather and evaluate, writing nothing: the engine's outcomes
        (``refresh.Outcome``) of the customers of ``profile_of``
        (``{partner_id: profile_id or None}``) in ``company`` on the day
        ``as_of``, one list per batch of BATCH.  ``settings``: other rules
        than the company's (a draft scorecard, see ``refresh.Settings``).
        ``ahead``, ``memo``: the days the caller evaluates next and a dict
        it keeps between the days (see ``Scope``).  No access check:
        callers check (``evaluate_as_of``)."""
        settings = settings or self._refresh_settings(company)
        items = list(profile_of.items())
        for start in range(0, len(items), BATCH):
            scope = self._gather_scope(
                company,
                as_of,
                dict(items[start : start + BATCH]),
                ahead=ahead,
                memo=memo,
            )
            yield refresh.evaluate(settings, self._gather(scope), as_of)

    @api.model
    def _refresh_after_confirm(self, order):
        """Re-evaluate the customer of ``order``, a sales order just
        confirmed, through the same pipeline with a smaller gather (see
        ``_gather_after_order``).  False when that gather cannot be exact:
        the caller then evaluates fully."""
        gathered = self._gather_after_order(order)
        if not gathered:
            return False
        company, today, customers = gathered
        settings = self._refresh_settings(company)
        self._store(company, today, refresh.evaluate(settings, customers, today))
        return True

    # ------------------------------------------------------------------
    # Profiles: created in bulk for every customer with sales
    # ------------------------------------------------------------------
    @api.model
    def _ensure_profiles(self, partner_ids, company):
        """Ids of the profiles of ``partner_ids`` in ``company``, created if missing."""
        if not partner_ids:
            return []
        self.env.flush_all()
        now = fields.Datetime.now()
        self.env.cr.execute(
            SQL(
                """
                INSERT INTO customer_profile
                       (partner_id, company_id, refresh_run, create_uid,
                        create_date, write_uid, write_date)
                SELECT id, %(company_id)s, 0, %(uid)s, %(now)s, %(uid)s, %(now)s
                  FROM unnest(%(partner_ids)s::int[]) AS id
                ON CONFLICT (partner_id, company_id) DO NOTHING
                """,
                company_id=company.id,
                uid=self.env.uid,
                now=now,
                partner_ids=list(partner_ids),
            )
        )
        self.env.cr.execute(
            SQL(
                "SELECT id FROM customer_profile WHERE company_id = %s "
                "AND partner_id = ANY(%s) ORDER BY id",
                company.id,
                list(partner_ids),
            )
        )
        return [row[0] for row in self.env.cr.fetchall()]

    @api.model
    def _create_missing_profiles(self, company):
        """One INSERT ... SELECT for every commercial partner with sales in
        ``company`` (according to its revenue basis) that has no profile yet.

        It walks the commercial partners without a profile in ``company`` and
        probes the addon's partial indexes for a sale of each (see
        ``sql_indexes``): once every customer has a profile, the few partners
        left cost an index probe each, where reading every confirmed order
        took seconds at a million orders every night.  PostgreSQL still reads
        the orders at once when most partners lack a profile (the first run).
        """
        self.env.flush_all()
        if company.customer_tiering_basis == "invoice":
            sales = SQL(
                """
                SELECT 1
                  FROM account_move am
                 WHERE am.commercial_partner_id = candidate.id
                   AND am.company_id = %s
                   AND am.state = 'posted'
                   AND am.move_type IN ('out_invoice', 'out_refund')
                """,
                company.id,
            )
        else:
            sales = SQL(
                """
                SELECT 1
                  FROM res_partner contact
                  JOIN sale_order so ON so.partner_id = contact.id
                 WHERE contact.commercial_partner_id = candidate.id
                   AND so.company_id = %s
                   AND so.state = 'sale'
                """,
                company.id,
            )
        now = fields.Datetime.now()
        self.env.cr.execute(
            SQL(
                """
                INSERT INTO customer_profile
                       (partner_id, company_id, refresh_run, create_uid,
                        create_date, write_uid, write_date)
                SELECT candidate.id, %(company_id)s, 0, %(uid)s, %(now)s,
                       %(uid)s, %(now)s
                  FROM res_partner candidate
                 WHERE candidate.commercial_partner_id = candidate.id
                   AND NOT EXISTS (
                       SELECT 1 FROM customer_profile cp
                        WHERE cp.partner_id = candidate.id
                          AND cp.company_id = %(company_id)s)
                   AND EXISTS (%(sales)s)
                ON CONFLICT (partner_id, company_id) DO NOTHING
                """,
                company_id=company.id,
                uid=self.env.uid,
                now=now,
                sales=sales,
            )
        )
        return self.env.cr.rowcount

    # ------------------------------------------------------------------
    # Full refresh: the nightly cron, in committed, resumable batches
    # ------------------------------------------------------------------
    @api.model
    def _request_full_refresh(self, reason="manual", companies=None):
        """Start a new full run (config changed, install, button) and wake the cron."""
        # sudo: the run marker lives on the company, which sales managers
        # cannot write; the request itself is already access-checked.
        companies = (companies or self.env["res.company"].search([])).sudo()
        companies._customer_tiering_start_run(reason)
        cron = self.env.ref(
            "customer_tiering.ir_cron_refresh", raise_if_not_found=False
        )
        if cron:
            cron.sudo()._trigger()

    @api.model
    def _cron_refresh(self, batch_size=None, time_budget=None, max_batches=None):
        """Refresh every customer of every company, batch by batch.

        A run starts when none is under way (nightly) or when one was requested
        (configuration change).  Each batch is committed: a killed run resumes
        with the profiles not yet evaluated since the run started.
        """
        params = self.env["ir.config_parameter"].sudo()
        batch_size = batch_size or int(
            params.get_param("customer_tiering.refresh_batch_size", 1000)
        )
        time_budget = time_budget or int(
            params.get_param("customer_tiering.refresh_time_budget", 240)
        )
        # Commit per batch (as mail's queue and stock's scheduler do) so that a
        # killed run keeps what it did; never inside tests.
        auto_commit = not getattr(threading.current_thread(), "testing", False)
        deadline = time.monotonic() + time_budget
        done = batches = 0
        companies = self.env["res.company"].search([])
        in_progress = companies.filtered("customer_tiering_run_start")
        if not in_progress:
            # A new (nightly) run; otherwise we resume the run under way.
            companies._customer_tiering_start_run("scheduled")
            in_progress = companies
        for company in in_progress:
            run = company.customer_tiering_run_id
            cause = (
                "config" if company.customer_tiering_run_reason == "config" else None
            )
            Profile = self.with_company(company)
            if not Profile._prepare_run(company):
                continue
            if auto_commit:
                self.env.cr.commit()  # pylint: disable=invalid-commit
            # Counted once; the batches then walk the profiles by id (the
            # primary key), so no index on refresh_run is needed.
            pending = Profile._pending_count(company, run)
            last_id = 0
            while True:
                batch = Profile._pending_batch(company, run, batch_size, last_id)
                if not batch:
                    company.customer_tiering_run_start = False
                    if auto_commit:
                        self.env.cr.commit()  # pylint: disable=invalid-commit
                    break
                Profile._refresh_isolated(
                    batch.ids, cause=cause, run=run, fresh_transaction=auto_commit
                )
                done += len(batch)
                batches += 1
                last_id = batch.ids[-1]
                pending = max(pending - len(batch), 0)
                if not Profile._pending_batch(company, run, 1, last_id):
                    # The run is over: say so now, not at the next call (which
                    # may be tomorrow night's, when the time budget or the
                    # batch limit ends this one).
                    company.customer_tiering_run_start = False
                    pending = 0
                self.env["ir.cron"]._notify_progress(done=done, remaining=pending)
                if auto_commit:
                    self.env.cr.commit()  # pylint: disable=invalid-commit
                if (max_batches and batches >= max_batches) or (
                    time.monotonic() > deadline
                ):
                    # Leave the rest to the next call: _notify_progress told
                    # the scheduler work remains, so it runs again at once.
                    return done
        # The run is over: the review figures follow (one aggregate).
        self.env["customer.tier.review.report"]._request_figures()
        return done

    @api.model
    def _prepare_run(self, company):
        """Before a full run of ``company``: False (logged, the run given up)
        when its customers cannot be evaluated (ladder or scorecard unusable);
        else the profiles of its new customers are created, and True."""
        try:
            self._refresh_settings(company)
        except UserError as error:
            _logger.error(
                "customer_tiering: company %s skipped: %s", company.name, error
            )
            company.customer_tiering_run_start = False
            return False
        self.with_company(company)._create_missing_profiles(company)
        return True

    @api.model
    def _pending_domain(self, company, run):
        return [("company_id", "=", company.id), ("refresh_run", "<", run)]

    @api.model
    def _pending_batch(self, company, run, size, after_id=0):
        """The next ``size`` profiles not evaluated by ``run``, after ``after_id``."""
        return self.search(
            [*self._pending_domain(company, run), ("id", ">", after_id)],
            limit=size,
            order="id",
        )

    @api.model
    def _pending_count(self, company, run):
        return self.search_count(self._pending_domain(company, run))

    @api.model
    def _demo_refresh(self, override_partner_id, override_tier_id):
        """Demo data: evaluate every customer as the nightly run would have
        three weeks ago and today (so that a downgrade is pending), and put
        one customer under a manager's override."""
        company = self.env.ref("base.main_company")
        today = company._customer_tiering_today()
        self._create_missing_profiles(company)
        # The follow-ups come with the plan history (_demo_schedule_followups).
        profiles = self.with_context(customer_tiering_defer_followups=True).search(
            [("company_id", "=", company.id)]
        )
        profiles._demo_reset_health()
        profiles._refresh(today=today - relativedelta(days=20))
        overridden = profiles.filtered(lambda p: p.partner_id.id == override_partner_id)
        overridden.write(
            {
                "override_tier_id": override_tier_id,
                "override_reason": self.env._(
                    "Reference customer for the textile industry."
                ),
                "override_until": today + relativedelta(months=6),
                "override_user_id": self.env.uid,
                "override_date": fields.Datetime.now(),
            }
        )
        profiles._refresh(today=today)

    # ------------------------------------------------------------------
    # UI
    # ------------------------------------------------------------------
    def action_open_history(self):
        self.ensure_one()
        return self.partner_id.with_company(
            self.company_id
        ).action_view_customer_tier_history()

    def action_override(self):
        """The override dialog for this customer, in the profile's company."""
        self.ensure_one()
        action = self.partner_id.with_company(
            self.company_id
        ).action_customer_tier_override()
        action["context"] = {
            **action["context"],
            "default_company_id": self.company_id.id,
        }
        return action

    def action_clear_override(self):
        """End the overrides of these profiles today: the next evaluation
        applies the computed tier at once (no grace period) and records
        "override ended"."""
        self._check_manager()
        for company, profiles in (
            self.filtered("override_tier_id").grouped("company_id").items()
        ):
            today = company._customer_tiering_today()
            profiles.write({"override_until": fields.Date.subtract(today, days=1)})
            profiles.with_company(company)._refresh(today=today)
        return True

    def action_refresh(self):
        self._check_manager()
        for company, profiles in self.grouped("company_id").items():
            profiles.with_company(company)._refresh()
        return True

    def _check_manager(self):
        if not self.env.user.has_group(
            "customer_tiering.group_customer_tiering_manager"
        ):
            raise UserError(self.env._("Only Customer Tiering managers can do this."))
