# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Per customer and company tiering state, and the refresh that maintains it.

The profile is a narrow table (one row per commercial partner and company):
metrics, computed and carried tier, pending downgrade, override.  Rewriting it
in bulk is cheap; the wide ``res_partner`` table only receives the few values
that users filter and group on (``customer_tier_id``...), and only when they
change.
"""

import datetime
import functools
import logging
import threading
import time
from collections import defaultdict, namedtuple

import pytz
from dateutil.relativedelta import relativedelta

from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL
from odoo.tools.sql import drop_index, make_index_name

from ..engine import tiering
from .fault_isolation import error_text, is_conflict, isolate
from .res_company import TIERING_SETTINGS
from .sql_arrays import array_literal

_logger = logging.getLogger(__name__)

CAUSES = [
    ("initial", "First evaluation"),
    ("computed_up", "Computed upgrade"),
    ("computed_down", "Computed downgrade"),
    ("override_set", "Override set"),
    ("override_ended", "Override ended"),
    ("config", "Configuration change"),
    ("strategic", "Strategic flag changed"),
]

# Metric columns written by the refresh, in the order of the VALUES rows.
METRIC_COLUMNS = (
    ("revenue", "numeric"),
    ("revenue_prev", "numeric"),
    ("growth", "numeric"),
    ("order_count", "int4"),
    ("order_count_prev", "int4"),
    ("lifetime_revenue", "numeric"),
    ("last_order_date", "date"),
    ("computed_tier_id", "int4"),
    ("tier_id", "int4"),
    ("pending_downgrade_since", "date"),
    ("override_active", "bool"),
    ("excluded_order_count", "int4"),
)
# Health columns written by the same UPDATE (see customer_profile_health.py).
HEALTH_COLUMNS = (
    ("health_score", "float8"),
    ("health_band", "varchar"),
    ("health_trend", "float8"),
    ("health_data", "jsonb"),
    ("health_warned_on", "date"),
)


# What _refresh reads of each profile (see _fetch_state).
ProfileState = namedtuple(
    "ProfileState",
    "id partner_id company_id tier_id pending_since override_tier_id "
    "override_until strategic health_score health_band health_warned_on "
    "tier_rank override_rank",
)

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
        *(name for name, __ in METRIC_COLUMNS),
        *(name for name, __ in HEALTH_COLUMNS),
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

    def _refresh(self, today=None, cause=None, run=None):
        """Re-evaluate these profiles (all of one company) and store the results.

        One SQL for the profiles' state, one SQL aggregate for the metrics (and
        one per health source), the pure engine for the decisions, one bulk
        UPDATE that rewrites only the profiles whose values changed; history
        rows, chatter notes and partner fields only where the carried tier
        changed; health snapshots, partner fields and warnings likewise (see
        customer_profile_health.py).  Records are browsed only for the
        customers whose tier moved or who are warned.
        """
        if not self:
            return self
        state = self._fetch_state()
        # Not self.company_id: that would read every column of the batch.
        company = self.env["res.company"].browse(
            {st.company_id for st in state.values()}
        )
        company.ensure_one()
        today = today or company._customer_tiering_today()
        rules = (
            self.env["customer.tier"]
            .with_company(company)
            ._check_usable_ladder(company)
        )
        metrics = self._fetch_metrics(
            company, today, partner_ids=[s.partner_id for s in state.values()]
        )
        rows, changes, ended, tiers = [], [], [], {}
        for profile_id, st in state.items():
            m, row, decision = self._decide_tier(
                company, rules, today, st, metrics.get(st.partner_id, {})
            )
            rows.append(row)
            tiers[profile_id] = decision.tier_id
            if decision.cause:
                changes.append((profile_id, st.tier_id, decision, m))
            if st.override_tier_id and not decision.override_active:
                ended.append(profile_id)
        health = self._health_evaluate(company, today, metrics, state)
        self._write_rows(
            METRIC_COLUMNS + HEALTH_COLUMNS,
            [(*row, *health.columns[row[0]]) for row in rows],
            fields.Datetime.now(),
            today,
            run,
        )
        if changes:
            changed = self.browse([profile_id for profile_id, *__ in changes])
            self._apply_tier_changes(
                [
                    (profile.with_prefetch(changed._ids), *change[1:])
                    for profile, change in zip(changed, changes, strict=True)
                ],
                cause=cause,
            )
        if ended:
            self.browse(ended).write(dict.fromkeys(OVERRIDE_FIELDS, False))
        self._health_apply(company, today, health, tiers)
        return self

    @api.model
    def _decide_tier(self, company, rules, today, st, data):
        """The engine's tier decision for one profile (``st``, a ProfileState)
        with the metrics ``data``; returns the metrics, the profile's row of
        METRIC_COLUMNS values and the decision."""
        m = tiering.Metrics(
            revenue=data.get("revenue", 0.0),
            revenue_prev=data.get("revenue_prev", 0.0),
            orders=data.get("order_count", 0),
            lifetime=data.get("lifetime_revenue", 0.0),
            strategic=st.strategic,
        )
        computed = tiering.evaluate_tier(rules, m)
        ranks = {rule.tier_id: rule.rank for rule in rules}
        decision = tiering.decide_tier(
            computed=computed,
            current_tier_id=st.tier_id,
            current_rank=ranks.get(st.tier_id, st.tier_rank) if st.tier_id else None,
            pending_since=st.pending_since,
            today=today,
            grace_days=company.customer_tiering_grace_days,
            override_tier_id=st.override_tier_id,
            override_rank=st.override_rank,
            override_until=st.override_until,
        )
        growth = m.growth
        row = (
            st.id,
            m.revenue,
            m.revenue_prev,
            None if growth is None else round(growth, 2),
            m.orders,
            data.get("order_count_prev", 0),
            m.lifetime,
            data.get("last_order_date"),
            computed.tier_id,
            decision.tier_id,
            decision.pending_since,
            decision.override_active,
            data.get("excluded_order_count", 0),
        )
        return m, row, decision

    def _fetch_state(self):
        """What the evaluation needs of these profiles, in one SQL (no ORM
        read of the wide partner table): ``{profile_id: ProfileState}``."""
        self.env.cr.execute(
            self._state_query(SQL("p.id = ANY(%s::int4[])", array_literal(self.ids)))
        )
        return {row[0]: ProfileState(*row) for row in self.env.cr.fetchall()}

    @api.model
    def _state_query(self, where, extra=(), ranks=True):
        """SELECT of the ProfileState columns (then ``extra`` SQL columns) of
        the profiles matching ``where``; without ``ranks``, the tiers' ranks
        are left NULL (and their joins out: the confirm hook takes them from
        the cached ladder)."""
        self.flush_model()
        self.env["res.partner"].flush_model(["customer_strategic"])
        if ranks:
            rank_columns = SQL("t.rank, o.rank")
            rank_joins = SQL(
                "LEFT JOIN customer_tier t ON t.id = p.tier_id "
                "LEFT JOIN customer_tier o ON o.id = p.override_tier_id"
            )
        else:
            rank_columns, rank_joins = SQL("NULL::int4, NULL::int4"), SQL()
        return SQL(
            """
            SELECT p.id, p.partner_id, p.company_id, p.tier_id,
                   p.pending_downgrade_since, p.override_tier_id, p.override_until,
                   COALESCE(rp.customer_strategic, FALSE), p.health_score,
                   p.health_band, p.health_warned_on, %s %s
              FROM customer_profile p
              JOIN res_partner rp ON rp.id = p.partner_id
              %s
             WHERE %s
          ORDER BY p.id
            """,
            rank_columns,
            SQL("").join(SQL(", %s", column) for column in extra),
            rank_joins,
            where,
        )

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
        self.invalidate_model(
            [
                *(name for name, __ in columns),
                "evaluated_at",
                "evaluated_on",
                "refresh_run",
                *ERROR_COLUMNS,
                "write_date",
                "write_uid",
            ]
        )

    @api.model
    def _refresh_after_confirm(self, order):
        """Re-evaluate the customer of ``order``, a sales order just confirmed,
        from its stored figures plus this order: one read, one UPDATE of the
        profile, one of the partner (about 17 queries for a full evaluation of
        its orders and health sources).

        Only where that gives what the full evaluation would: the figures were
        computed for today in an earlier transaction (so without this order),
        the order falls in every window and has a currency rate, revenue comes
        from orders, and the health score does not drop (a drop may call for a
        warning).  Returns False when the caller must evaluate fully.
        """
        company = order.company_id
        # Only the tiering settings: the first field read of a company would
        # otherwise load its hundred-odd columns.
        company.fetch(list(TIERING_SETTINGS))
        # Only orders that plainly count (see _metrics_source, where the rule
        # lives): in company currency, with a positive amount.  Any other
        # order goes the full way, through the one aggregate.
        if (
            company.customer_tiering_basis != "sale"
            or order.currency_id != company.currency_id
            or not order.currency_rate
            or order.amount_untaxed <= 0
        ):
            return False
        today = company._customer_tiering_today()
        bounds, tz = self._local_day_bounds(
            self._metric_windows(company, today), company
        )
        since = max(bounds["start"], bounds["freq_start"])
        if not since <= order.date_order < bounds["end"]:
            return False
        self.env.cr.execute(
            self._state_query(
                SQL(
                    "p.partner_id = (SELECT commercial_partner_id FROM res_partner "
                    "WHERE id = %s) AND p.company_id = %s",
                    order.partner_id.id,
                    company.id,
                ),
                extra=[
                    SQL(
                        "p.revenue, p.revenue_prev, p.order_count, "
                        "p.order_count_prev, p.lifetime_revenue, p.last_order_date, "
                        "p.excluded_order_count, p.health_data, p.evaluated_on"
                    ),
                    # Evaluated before this transaction began: without the order.
                    # evaluated_at has whole seconds (fields.Datetime.now()):
                    # an evaluation in the second the transaction began may be
                    # of this transaction, so it does not count as before.
                    SQL(
                        "p.evaluated_at"
                        " < date_trunc('second', now() AT TIME ZONE 'UTC')"
                    ),
                ],
                ranks=False,
            )
        )
        row = self.env.cr.fetchone()
        size = len(ProfileState._fields)
        if not row:
            return False
        st = ProfileState(*row[:size])
        (revenue, revenue_prev, orders, orders_prev, lifetime, last_date, excluded) = (
            row[size : size + 7]
        )
        data, evaluated_on, before = row[size + 7 :]
        if evaluated_on != today or not before or not data or "ref" not in data:
            return False
        amount = order.amount_untaxed / order.currency_rate
        day = pytz.utc.localize(order.date_order).astimezone(pytz.timezone(tz)).date()
        metrics = {
            "revenue": float(revenue) + amount,
            "revenue_prev": float(revenue_prev),
            "order_count": orders + 1,
            "order_count_prev": orders_prev,
            "lifetime_revenue": float(lifetime) + amount,
            "last_order_date": max(filter(None, (last_date, day))),
            "excluded_order_count": excluded or 0,
        }
        rules = self.env["customer.tier"]._check_usable_ladder(company)
        # Ranks were not read: overridden customers, or carrying a tier off
        # the ladder (archived), go the full way (both are rare).
        if st.override_tier_id or st.tier_id not in {None, *(r.tier_id for r in rules)}:
            return False
        m, tier_row, decision = self._decide_tier(company, rules, today, st, metrics)
        if st.override_tier_id and not decision.override_active:
            return False
        columns = self._rescore_after_order(company, today, st, metrics, data)
        if columns is None:
            return False
        self._write_rows(
            METRIC_COLUMNS + HEALTH_COLUMNS,
            [(*tier_row, *columns)],
            fields.Datetime.now(),
            today,
        )
        profile = self.browse(st.id)
        if decision.cause:
            profile._apply_tier_changes([(profile, st.tier_id, decision, m)])
        profile._health_apply_one(company, today, st, columns, decision.tier_id)
        return True

    def _apply_tier_changes(self, changes, cause=None):
        """History, chatter and partner fields for the profiles whose tier moved."""
        if not changes:
            return
        company = changes[0][0].company_id
        history_vals = []
        by_tier = defaultdict(list)
        for profile, from_id, decision, m in changes:
            row_cause = (
                cause
                if cause and decision.cause in ("computed_up", "computed_down")
                else str(decision.cause)
            )
            history_vals.append(
                {
                    "profile_id": profile.id,
                    "partner_id": profile.partner_id.id,
                    "company_id": company.id,
                    "from_tier_id": from_id or False,
                    "to_tier_id": decision.tier_id,
                    "cause": row_cause,
                    "user_id": self.env.uid,
                    "revenue": m.revenue,
                    "growth": m.growth or 0.0,
                    "growth_known": m.growth is not None,
                    "order_count": m.orders,
                    "lifetime_revenue": m.lifetime,
                    "reason": profile.override_reason
                    if row_cause == "override_set"
                    else False,
                }
            )
            by_tier[decision.tier_id].append(profile.partner_id.id)
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

    # ------------------------------------------------------------------
    # Metrics: one SQL aggregate per batch of customers
    # ------------------------------------------------------------------
    @api.model
    def _metric_windows(self, company, today):
        window = company.customer_tiering_window_months
        freq = company.customer_tiering_frequency_months
        start = today - relativedelta(months=window)
        freq_start = today - relativedelta(months=freq)
        return {
            "end": today + relativedelta(days=1),
            "start": start,
            "prev_start": start - relativedelta(months=window),
            "freq_start": freq_start,
            "freq_prev_start": freq_start - relativedelta(months=freq),
        }

    def _fetch_metrics(self, company, today, partner_ids=None):
        """Metrics per commercial partner of these profiles (or of
        ``partner_ids``), in company currency.

        Returns ``{partner_id: {revenue, revenue_prev, order_count,
        order_count_prev, lifetime_revenue, last_order_date,
        excluded_order_count}}``.
        """
        if partner_ids is None:
            partner_ids = self.mapped("partner_id").ids
        query = self._metrics_query(
            partner_ids, company, self._metric_windows(company, today)
        )
        self.env.flush_all()
        self.env.cr.execute(query)
        result = {}
        excluded_partners = []
        for (
            partner_id,
            revenue,
            revenue_prev,
            order_count,
            order_count_prev,
            lifetime_revenue,
            last_order_date,
            excluded,
        ) in self.env.cr.fetchall():
            if excluded:
                excluded_partners.append(partner_id)
            result[partner_id] = {
                "revenue": float(revenue),
                "revenue_prev": float(revenue_prev),
                "order_count": order_count,
                "order_count_prev": order_count_prev,
                "lifetime_revenue": float(lifetime_revenue),
                "last_order_date": last_order_date,
                "excluded_order_count": excluded,
            }
        if excluded_partners:
            _logger.warning(
                "customer_tiering: orders without a currency rate on or before "
                "their date were left out of the figures of partners %s (company "
                "%s). Set the rates and refresh.",
                excluded_partners[:20],
                company.id,
            )
        return result

    @api.model
    def _local_day_bounds(self, windows, company):
        """The windows' days as UTC datetimes of their midnight in the
        company's tiering time zone, and that time zone: order dates are UTC
        datetimes, "today" is the company's day (``_customer_tiering_today``),
        whoever triggers the evaluation."""
        tz = pytz.timezone(company._customer_tiering_tz_name())
        return {
            key: tz.localize(datetime.datetime.combine(day, datetime.time.min))
            .astimezone(pytz.utc)
            .replace(tzinfo=None)
            for key, day in windows.items()
        }, tz.zone

    @api.model
    def _first_rates(self, company):
        """SQL of the first day each currency has a rate for ``company`` (its
        own rates or the shared ones), as ``(currency_id, first_day)`` rows."""
        return SQL(
            """
            SELECT currency_id, MIN(name) AS first_day
              FROM res_currency_rate
             WHERE company_id IS NULL OR company_id = %s
          GROUP BY currency_id
            """,
            company.root_id.id,
        )

    @api.model
    def _metrics_source(self, company, windows):
        """What the metrics aggregate reads for ``company``'s revenue basis.

        Orders: confirmed, amounts converted at the order's rate, dates in the
        company's tiering time zone.  Invoices: posted,
        ``amount_untaxed_signed`` (company currency, negative on credit notes).

        What counts (the one place of these rules, see the README, "How
        figures are computed"):

        - ``excluded``: a document in another currency than the company's
          whose currency had no rate on or before its date.  Odoo then
          converts it at 1.0 (1,000,000 JPY would count as 1,000,000 in
          company currency): it is left out of every figure, and counted on
          the customer's profile (``excluded_order_count``).
        - ``counted``: what counts as an order: a confirmed order with a
          positive untaxed amount (which, as a sales order line needs a
          product unless it is a section or a note, implies a product line);
          on the invoice basis, a customer invoice with a positive amount.
          Orders with no lines or a zero total count for nothing; refund-like
          orders (negative total) and credit notes reduce the revenue but are
          no orders.
        """
        company_currency = company.currency_id.id
        if company.customer_tiering_basis == "invoice":
            return {
                "bounds": windows,
                "partner": SQL("am.commercial_partner_id"),
                "day": SQL("am.invoice_date"),
                "amount": SQL("am.amount_untaxed_signed"),
                "counted": SQL(
                    "am.move_type = 'out_invoice' AND am.amount_untaxed_signed > 0"
                ),
                "excluded": SQL(
                    "(am.currency_id <> %s AND (fr.first_day IS NULL "
                    "OR COALESCE(am.invoice_date, am.date) < fr.first_day))",
                    company_currency,
                ),
                "rows": SQL(
                    "account_move am LEFT JOIN (%s) fr ON fr.currency_id = "
                    "am.currency_id WHERE am.state = 'posted' AND am.move_type "
                    "IN ('out_invoice', 'out_refund') AND am.company_id = %s",
                    self._first_rates(company),
                    company.id,
                ),
            }
        bounds, tz = self._local_day_bounds(windows, company)
        return {
            "bounds": bounds,
            "partner": SQL("p.commercial_partner_id"),
            "day": SQL("so.date_order"),
            "amount": SQL("so.amount_untaxed / NULLIF(so.currency_rate, 0)"),
            "counted": SQL("so.amount_untaxed > 0"),
            # Odoo takes the rate of the order's (UTC) date; a rate of 0 (or
            # none) cannot convert either.
            "excluded": SQL(
                "(COALESCE(so.currency_rate, 0) = 0 OR (so.currency_id <> %s "
                "AND (fr.first_day IS NULL OR so.date_order::date < fr.first_day)))",
                company_currency,
            ),
            "local_day": SQL("(so.date_order AT TIME ZONE 'UTC' AT TIME ZONE %s)", tz),
            # state = 'sale' as a literal: the covering index is partial on it.
            "rows": SQL(
                "sale_order so JOIN res_partner p ON p.id = so.partner_id "
                "LEFT JOIN (%s) fr ON fr.currency_id = so.currency_id "
                "WHERE so.state = 'sale' AND so.company_id = %s",
                self._first_rates(company),
                company.id,
            ),
        }

    @api.model
    def _metrics_query(self, partner_ids, company, windows):
        """One aggregate of the metrics of ``partner_ids`` (see _fetch_metrics)."""
        src = self._metrics_source(company, windows)
        # Each document's values are computed once, in the subquery (OFFSET 0
        # keeps PostgreSQL from copying the expressions into every FILTER).
        # Excluded documents count in no figure (see _metrics_source).
        return SQL(
            """
            SELECT d.partner_id,
                   COALESCE(SUM(d.amount) FILTER (
                       WHERE d.valid AND d.day >= %(start)s AND d.day < %(end)s
                   ), 0) AS revenue,
                   COALESCE(SUM(d.amount) FILTER (
                       WHERE d.valid AND d.day >= %(prev_start)s AND d.day < %(start)s
                   ), 0) AS revenue_prev,
                   COUNT(*) FILTER (
                       WHERE d.valid AND d.counted
                         AND d.day >= %(freq_start)s AND d.day < %(end)s
                   ) AS order_count,
                   COUNT(*) FILTER (
                       WHERE d.valid AND d.counted
                         AND d.day >= %(freq_prev_start)s AND d.day < %(freq_start)s
                   ) AS order_count_prev,
                   COALESCE(SUM(d.amount) FILTER (
                       WHERE d.valid AND d.day < %(end)s
                   ), 0) AS lifetime_revenue,
                   MAX(d.local_day) FILTER (
                       WHERE d.valid AND d.counted AND d.day < %(end)s
                   )::date AS last_order_date,
                   COUNT(*) FILTER (
                       WHERE NOT d.valid AND d.day < %(end)s
                   ) AS excluded_order_count
              FROM (
                    SELECT %(partner)s AS partner_id,
                           %(day)s AS day,
                           %(local_day)s AS local_day,
                           %(amount)s AS amount,
                           %(counted)s AS counted,
                           NOT %(excluded)s AS valid
                      FROM %(rows)s
                       AND %(partner)s = ANY(%(partner_ids)s::int4[])
                    OFFSET 0
                   ) AS d
          GROUP BY d.partner_id
            """,
            partner=src["partner"],
            day=src["day"],
            amount=src["amount"],
            counted=src["counted"],
            excluded=src["excluded"],
            local_day=src.get("local_day", src["day"]),
            rows=src["rows"],
            partner_ids=array_literal(partner_ids),
            **src["bounds"],
        )

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
        ``company`` (according to its revenue basis) that has no profile yet."""
        self.env.flush_all()
        if company.customer_tiering_basis == "invoice":
            source = SQL(
                """
                SELECT DISTINCT am.commercial_partner_id AS id
                  FROM account_move am
                 WHERE am.state = 'posted'
                   AND am.move_type IN ('out_invoice', 'out_refund')
                   AND am.company_id = %s
                """,
                company.id,
            )
        else:
            source = SQL(
                """
                SELECT DISTINCT p.commercial_partner_id AS id
                  FROM sale_order so
                  JOIN res_partner p ON p.id = so.partner_id
                 WHERE so.state = 'sale' AND so.company_id = %s
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
                SELECT src.id, %(company_id)s, 0, %(uid)s, %(now)s, %(uid)s, %(now)s
                  FROM (%(source)s) AS src
                ON CONFLICT (partner_id, company_id) DO NOTHING
                """,
                company_id=company.id,
                uid=self.env.uid,
                now=now,
                source=source,
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
            try:
                self.env["customer.tier"].with_company(company)._check_usable_ladder(
                    company
                )
                self.env["customer.health.dimension"]._get_scorecard(company)
            except UserError as error:
                _logger.error(
                    "customer_tiering: company %s skipped: %s", company.name, error
                )
                company.customer_tiering_run_start = False
                continue
            Profile._create_missing_profiles(company)
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
        self.env["customer.tier.review.report"]._refresh_figures()
        return done

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
