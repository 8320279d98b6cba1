# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The gather step of the refresh: what the rules need, one SQL per source.

For a batch of customers of one company and a day ``as_of``, each source of
:data:`SOURCES` reads its table(s) once for the whole batch and returns, per
commercial partner, named values: the fields of the engine's
``refresh.State`` (what the customer carried) or ``health.Facts`` (what
happened).  :meth:`CustomerProfile._gather` merges them into the engine's
``refresh.Customer`` values.  A new source (for a new tier criterion or
health dimension) is one entry of :data:`SOURCES` and its method here.

Any day: with ``as_of`` before today, every source reads what existed then
(see the README, "Evaluating a past day", for what is reconstructed and what
is approximated).
"""

import datetime
import logging
from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import timedelta

import pytz
from dateutil.relativedelta import relativedelta

from odoo import api, models
from odoo.tools import SQL

from ..engine import cadence, health, refresh
from .res_company import TIERING_SETTINGS
from .sql_arrays import array_literal

_logger = logging.getLogger(__name__)

# Invoices of the last year count for payment behaviour even when paid.
PAYMENT_HISTORY_DAYS = 365
# Snapshots read per customer: the current month and the trend's window.
HISTORY_DAYS = 62


@dataclass(frozen=True)
class Source:
    """One source of the gather step: ``method`` (of customer.profile) reads
    the batch and returns ``{partner_id: {name: value}}`` for the names in
    ``provides`` (fields of ``refresh.State`` or ``health.Facts``); a
    customer it has nothing for is left out (the engine's defaults apply)."""

    key: str
    provides: tuple[str, ...]
    method: str


SOURCES = (
    Source(
        "profile",
        (
            "tier_id",
            "tier_rank",
            "pending_since",
            "override_tier_id",
            "override_until",
            "strategic",
            "health_score",
            "health_band",
            "health_warned_on",
            "history",
            "open_warning",
        ),
        "_gather_profile",
    ),
    Source(
        "orders",
        (
            "revenue",
            "revenue_prev",
            "orders",
            "orders_prev",
            "lifetime",
            "last_order_date",
            "excluded_orders",
        ),
        "_gather_orders",
    ),
    Source("payments", ("receivable", "overdue", "overdue_days"), "_gather_payments"),
    Source("activities", ("overdue_activities",), "_gather_overdue_activities"),
    Source("reviews", ("review", "review_date"), "_gather_reviews"),
    Source("feedback", ("touches", "negative_touches"), "_gather_touch_feedback"),
    Source("engagement", ("engagement",), "_gather_engagement"),
)
STATE_FIELDS = frozenset(refresh.State._fields)
FACT_FIELDS = frozenset(health.Facts._fields)
PROVIDER = {name: source for source in SOURCES for name in source.provides}
assert len(PROVIDER) == sum(len(source.provides) for source in SOURCES), (
    "every value has one source"
)
assert all(
    set(source.provides) <= STATE_FIELDS or set(source.provides) <= FACT_FIELDS
    for source in SOURCES
), "a source provides state or facts"
# The sources a new order changes: the sales-order hook reads only these (and
# the customer's state); the others come from the stored explanation.
ORDER_SOURCES = tuple(
    source
    for source in SOURCES
    if source.key == "profile" or health.ORDER_FACTS.issuperset(source.provides)
)
assert [source.key for source in ORDER_SOURCES] == ["profile", "orders"], (
    "the sales-order hook reads these two in one statement"
)


@dataclass(frozen=True)
class Scope:
    """What a source reads for: the batch's customers, company and day.

    ``profile_of``: ``{partner_id: profile_id or None}``.  ``past``: ``as_of``
    is before the company's today, the sources read what existed then.
    ``bounds``: the day's windows as UTC datetimes of local midnights (see
    ``_local_day_bounds``), ``tz`` the company's tiering time zone.
    ``ahead`` and ``memo``: a caller that evaluates several past days in
    turn (the backtest) gives the days it evaluates next and a dict kept
    from one day to the next; a source that reads several days at once
    (orders, payments, activities: ``_gather_days``) reads them ahead there."""

    company: object
    as_of: datetime.date
    past: bool
    profile_of: dict
    windows: dict
    bounds: dict
    tz: str
    ahead: tuple = ()
    memo: dict | None = None

    @property
    def partner_ids(self):
        return list(self.profile_of)

    @property
    def profile_ids(self):
        return [pid for pid in self.profile_of.values() if pid]

    @property
    def day_start(self):
        """The UTC start of ``as_of`` in the company's time zone."""
        return self.bounds["end"] - timedelta(days=1)


# customer.profile is extended per step of the refresh (gather, store) and per
# feature (health, plans), so that each file owns one step or feature; the
# classes are deliberately not merged.
class CustomerProfile(models.Model):
    _inherit = "customer.profile"  # pylint: disable=consider-merging-classes-inherited

    # ------------------------------------------------------------------
    # The step
    # ------------------------------------------------------------------
    @api.model
    def _gather_scope(self, company, as_of, profile_of, ahead=(), memo=None):
        windows = self._metric_windows(company, as_of)
        bounds, tz = self._local_day_bounds(windows, company)
        return Scope(
            company=company,
            as_of=as_of,
            past=as_of < company._customer_tiering_today(),
            profile_of=profile_of,
            windows=windows,
            bounds=bounds,
            tz=tz,
            ahead=tuple(ahead),
            memo=memo,
        )

    @api.model
    def _gather(self, scope, sources=SOURCES):
        """The engine's ``refresh.Customer`` of each partner of ``scope``, from
        ``sources`` (one SQL each)."""
        self.env.flush_all()
        return self._gather_assemble(
            scope, [(source, getattr(self, source.method)(scope)) for source in sources]
        )

    @api.model
    def _gather_assemble(self, scope, found, stored=None):
        """``refresh.Customer`` values from what the sources ``found``
        (``[(source, {partner_id: values})]``); ``stored``: ``{partner_id:
        Facts}`` of the facts the other sources would give."""
        states, facts = [], []
        for source, rows in found:
            if rows:
                (states if source.provides[0] in STATE_FIELDS else facts).append(rows)
        customers = []
        for partner_id, profile_id in scope.profile_of.items():
            state, fact = {}, {}
            for rows in states:
                if partner_id in rows:
                    state.update(rows[partner_id])
            for rows in facts:
                if partner_id in rows:
                    fact.update(rows[partner_id])
            base = stored and stored.get(partner_id)
            customers.append(
                refresh.Customer(
                    partner_id,
                    profile_id,
                    refresh.State(**state),
                    base._replace(**fact) if base else health.Facts(**fact),
                )
            )
        return customers

    @api.model
    def _gather_after_order(self, order):
        """The sales-order hook's gather: ``(company, today, customers)`` for
        the customer of ``order``, just confirmed, or None when it cannot be
        exact.  Its state and its orders come from their sources (this order
        included); the facts that no order changes come from the explanation
        stored by its evaluation earlier today (``refresh.explanation``).  On
        the invoice basis, or without an evaluation today, None: the caller
        gathers everything."""
        company = order.company_id
        # Only the tiering settings: the first field read of a company would
        # otherwise load its hundred-odd columns.
        company.fetch(list(TIERING_SETTINGS))
        if company.customer_tiering_basis != "sale":
            return None
        today = company._customer_tiering_today()
        self.env.flush_all()
        # Only that column of the wide partner table.
        order.partner_id.fetch(["commercial_partner_id"])
        partner_id = order.partner_id.commercial_partner_id.id
        scope = self._gather_scope(company, today, {partner_id: None})
        # The two sources an order changes, in one statement (the hook's
        # latency): the profile's row, then its orders' aggregate.
        # The profile's columns: its id, its values but the history, the
        # history's dates and scores, and the three of ``explain``.
        width = 1 + len(ORDER_SOURCES[0].provides) - 1 + 2 + 3
        self.env.cr.execute(
            SQL(
                "SELECT * FROM (%s) AS profile LEFT JOIN (%s) AS orders ON TRUE",
                self._profile_query(scope, explain=True),
                self._metrics_query([partner_id], company, [today]),
            )
        )
        row = self.env.cr.fetchone()
        if not row:
            return None
        explained = {}
        state = self._profile_rows([row[:width]], explained)
        profile_id, evaluated_on, data = explained[partner_id]
        facts = evaluated_on == today and data and refresh.facts_from_explanation(data)
        if not facts:
            return None
        fetched = [row[width:]] if row[width] else []
        orders = self._orders_rows(scope, fetched)[today]
        scope = replace(scope, profile_of={partner_id: profile_id})
        found = [(ORDER_SOURCES[0], state), (ORDER_SOURCES[1], orders)]
        return company, today, self._gather_assemble(scope, found, {partner_id: facts})

    @api.model
    def _gather_days(self, scope, key, read):
        """The values of source ``key`` for the customers of ``scope`` on
        ``as_of``; ``read(scope, days, partner_ids)`` reads them for several
        days in one SQL (``{day: {partner_id: values}}``).

        Without ``scope.memo`` (the nightly refresh, ``evaluate_as_of``):
        ``as_of`` alone.  With it (a caller evaluating several past days in
        turn, the backtest), a customer is read once, for ``as_of`` and every
        day of ``scope.ahead``; the later days wait in the memo, a day is
        dropped once evaluated (the caller goes forward in time)."""
        if scope.memo is None:
            rows = read(scope, [scope.as_of], scope.partner_ids)
            return rows.get(scope.as_of, {})
        memo = scope.memo.setdefault(key, {})  # {day: {partner_id: values}}
        read_ids = scope.memo.setdefault(f"{key}_read", set())
        for day in [day for day in memo if day < scope.as_of]:
            del memo[day]
        missing = [p for p in scope.partner_ids if p not in read_ids]
        if missing:
            days = [scope.as_of, *(day for day in scope.ahead if day > scope.as_of)]
            for day, rows in read(scope, days, missing).items():
                memo.setdefault(day, {}).update(rows)
            read_ids.update(missing)
        rows = memo.get(scope.as_of, {})
        return {p: rows[p] for p in scope.partner_ids if p in rows}

    # ------------------------------------------------------------------
    # Windows: the days the figures cover
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

    # ------------------------------------------------------------------
    # Source: the profile (what the customer carried before)
    # ------------------------------------------------------------------
    @api.model
    def _gather_profile(self, scope, explained=None):
        """Tier, pending downgrade, override, strategic flag, health state,
        recent snapshots and open health warning of each customer.

        On a past day the tier is the last one the tier history records
        before that day, the health state the last snapshot before it; a
        downgrade pending then is not recorded (none is taken), nor a
        warning then open; the override counts if it was set before that
        day and had not ended.

        ``explained`` (a dict, today only): filled with ``{partner_id:
        (profile id, evaluated_on, stored explanation)}`` (the sales-order
        hook reads them in the same statement)."""
        self.flush_model()
        self.env["res.partner"].flush_model(["customer_strategic"])
        self.env.cr.execute(self._profile_query(scope, explained is not None))
        return self._profile_rows(self.env.cr.fetchall(), explained)

    @api.model
    def _profile_query(self, scope, explain=False):
        """The profile source's SELECT (see ``_gather_profile``); ``explain``:
        with the profile's id, evaluation day and stored explanation."""
        if scope.past:
            state = SQL(
                """
                ht.to_tier_id, ht_t.rank, NULL::date,
                CASE WHEN p.override_date < %(start)s
                      AND (p.override_until IS NULL OR p.override_until >= %(as_of)s)
                     THEN p.override_tier_id END,
                CASE WHEN p.override_date < %(start)s THEN p.override_until END,
                COALESCE(rp.customer_strategic, FALSE), ls.score, ls.band,
                NULL::date, FALSE
                """,
                start=scope.day_start,
                as_of=scope.as_of,
            )
            joins = SQL(
                """
                LEFT JOIN LATERAL (
                    SELECT h.to_tier_id FROM customer_tier_history h
                     WHERE h.profile_id = p.id AND h.date < %(start)s
                  ORDER BY h.date DESC, h.id DESC LIMIT 1) ht ON TRUE
                LEFT JOIN customer_tier ht_t ON ht_t.id = ht.to_tier_id
                LEFT JOIN LATERAL (
                    SELECT s.score, s.band FROM customer_health_snapshot s
                     WHERE s.profile_id = p.id AND s.date < %(as_of)s
                  ORDER BY s.date DESC, s.id DESC LIMIT 1) ls ON TRUE
                """,
                start=scope.day_start,
                as_of=scope.as_of,
            )
            until = SQL("s.date < %s", scope.as_of)
        else:
            # Cached: the sales-order hook gathers one customer at a time.
            warning_type_id = self.env["ir.model.data"]._xmlid_to_res_id(
                "customer_tiering.mail_activity_type_health_risk"
            )
            state = SQL(
                """
                p.tier_id, t.rank, p.pending_downgrade_since, p.override_tier_id,
                p.override_until, COALESCE(rp.customer_strategic, FALSE),
                p.health_score, p.health_band, p.health_warned_on,
                EXISTS (SELECT 1 FROM mail_activity a
                         WHERE a.res_model = 'res.partner' AND a.res_id = rp.id
                           AND a.active AND a.activity_type_id = %s)
                """,
                warning_type_id,
            )
            joins = SQL("LEFT JOIN customer_tier t ON t.id = p.tier_id")
            until = SQL("s.date <= %s", scope.as_of)
        return SQL(
            """
                    SELECT rp.id, %(state)s, h.dates, h.scores %(explained)s
                      FROM unnest(%(partner_ids)s::int4[]) AS v(partner_id)
                      JOIN res_partner rp ON rp.id = v.partner_id
                 LEFT JOIN customer_profile p
                        ON p.partner_id = rp.id AND p.company_id = %(company_id)s
                      %(joins)s
                 LEFT JOIN LATERAL (
                        SELECT array_agg(s.date ORDER BY s.date, s.id) AS dates,
                               array_agg(s.score ORDER BY s.date, s.id) AS scores
                          FROM customer_health_snapshot s
                         WHERE s.profile_id = p.id AND s.date > %(since)s
                           AND %(until)s) h ON TRUE
                    """,
            state=state,
            explained=SQL(", p.id, p.evaluated_on, p.health_data")
            if explain
            else SQL(),
            joins=joins,
            until=until,
            partner_ids=array_literal(scope.partner_ids),
            company_id=scope.company.id,
            since=scope.as_of - timedelta(days=HISTORY_DAYS),
        )

    @api.model
    def _profile_rows(self, fetched_rows, explained=None):
        """The profile source's values of its SELECT's rows."""
        # The columns of %(state)s: what the source provides, but the history.
        names = [name for name in SOURCES[0].provides if name != "history"]
        result = {}
        for fetched in fetched_rows:
            if explained is not None:
                explained[fetched[0]] = fetched[-3:]
                fetched = fetched[:-3]
            partner_id, *values, dates, scores = fetched
            row = dict(zip(names, values, strict=True))
            row["history"] = tuple(zip(dates, scores, strict=True)) if dates else ()
            result[partner_id] = row
        return result

    # ------------------------------------------------------------------
    # Source: the orders (or invoices): the tier's figures
    # ------------------------------------------------------------------
    @api.model
    def _gather_orders(self, scope):
        """Revenue, orders and last order date over the windows ending on
        ``as_of`` (see ``_metrics_source`` for what counts)."""
        return self._gather_days(scope, "orders", self._orders_days)

    @api.model
    def _orders_days(self, scope, days, partner_ids):
        """``{day: {partner_id: values}}`` of the orders source on each of
        ``days`` (one SQL)."""
        self.env.cr.execute(self._metrics_query(partner_ids, scope.company, days))
        return self._orders_rows(scope, self.env.cr.fetchall())

    @api.model
    def _orders_rows(self, scope, fetched_rows):
        """The orders source's values of its aggregate's rows, by day."""
        result = defaultdict(dict)
        excluded_partners = set()
        for (
            partner_id,
            revenue,
            revenue_prev,
            order_count,
            order_count_prev,
            lifetime_revenue,
            last_order_date,
            excluded,
            day,
        ) in fetched_rows:
            if excluded:
                excluded_partners.add(partner_id)
            result[day][partner_id] = {
                "revenue": revenue,
                "revenue_prev": revenue_prev,
                "orders": order_count,
                "orders_prev": order_count_prev,
                "lifetime": lifetime_revenue,
                "last_order_date": last_order_date,
                "excluded_orders": excluded,
            }
        if excluded_partners:
            _logger.warning(
                "customer_tiering: orders without a currency rate on or before "
                "their date were left out of the figures of partners %s (company "
                "%s). Set the rates and refresh.",
                sorted(excluded_partners)[:20],
                scope.company.id,
            )
        return result

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
    def _metrics_query(self, partner_ids, company, days):
        """One aggregate of the metrics of ``partner_ids`` over the windows
        ending on each of ``days``: a row per partner and day, the day last.
        Each document is read once, whatever the number of days."""
        windows = [self._metric_windows(company, day) for day in days]
        src = self._metrics_source(company, windows[0])
        bounds = [self._metrics_source(company, w)["bounds"] for w in windows]
        # Each document's values are computed once, in the subquery (OFFSET 0
        # keeps PostgreSQL from copying the expressions into every FILTER).
        # Excluded documents count in no figure (see _metrics_source).  A
        # document after a day counts in none of its figures: a partner
        # without any before it has no row (the engine's zeros).
        return SQL(
            """
            SELECT d.partner_id,
                   COALESCE(SUM(d.amount) FILTER (
                       WHERE d.valid AND d.day >= w.w_start
                   ), 0)::float8 AS revenue,
                   COALESCE(SUM(d.amount) FILTER (
                       WHERE d.valid AND d.day >= w.w_prev_start AND d.day < w.w_start
                   ), 0)::float8 AS revenue_prev,
                   COUNT(*) FILTER (
                       WHERE d.valid AND d.counted AND d.day >= w.w_freq_start
                   ) AS order_count,
                   COUNT(*) FILTER (
                       WHERE d.valid AND d.counted
                         AND d.day >= w.w_freq_prev_start AND d.day < w.w_freq_start
                   ) AS order_count_prev,
                   COALESCE(SUM(d.amount) FILTER (WHERE d.valid), 0)::float8
                       AS lifetime_revenue,
                   MAX(d.local_day) FILTER (WHERE d.valid AND d.counted)::date
                       AS last_order_date,
                   COUNT(*) FILTER (WHERE NOT d.valid) AS excluded_order_count,
                   w.day
              FROM (
                    SELECT %(partner)s AS partner_id,
                           %(day)s AS day,
                           %(local_day)s AS local_day,
                           %(amount)s AS amount,
                           %(counted)s AS counted,
                           NOT %(excluded)s AS valid
                      FROM %(rows)s
                       AND %(partner)s = ANY(%(partner_ids)s::int4[])
                       AND %(day)s < %(last_end)s
                    OFFSET 0
                   ) AS d
              JOIN unnest(%(days)s::date[], %(ends)s::timestamp[],
                          %(starts)s::timestamp[], %(prev_starts)s::timestamp[],
                          %(freq_starts)s::timestamp[],
                          %(freq_prev_starts)s::timestamp[])
                   AS w(day, w_end, w_start, w_prev_start, w_freq_start,
                        w_freq_prev_start)
                ON d.day < w.w_end
          GROUP BY w.day, d.partner_id
            """,
            partner=src["partner"],
            day=src["day"],
            amount=src["amount"],
            counted=src["counted"],
            excluded=src["excluded"],
            local_day=src.get("local_day", src["day"]),
            rows=src["rows"],
            partner_ids=array_literal(partner_ids),
            last_end=max(b["end"] for b in bounds),
            days=array_literal(list(days)),
            **{
                f"{key}s": array_literal([b[key] for b in bounds])
                for key in (
                    "end",
                    "start",
                    "prev_start",
                    "freq_start",
                    "freq_prev_start",
                )
            },
        )

    # ------------------------------------------------------------------
    # Sources of the health dimensions
    # ------------------------------------------------------------------
    @api.model
    def _gather_payments(self, scope):
        """Open receivables, overdue part and amount-weighted days overdue per
        customer, from posted invoices (company currency, partial payments
        deducted).  Customers without open or recent invoices are absent.

        On a past day an invoice's open amount is its total less the
        payments (and credit notes) reconciled with it by then.  With
        ``scope.memo`` (a caller evaluating several days in turn: the
        backtest) the customers are read once for ``as_of`` and every day of
        ``scope.ahead``, what the later days need kept in the memo: the
        reconciliations of an invoice are read once, not once per day."""
        return self._gather_days(scope, "payments", self._payments_rows)

    @api.model
    def _payments_rows(self, scope, days, partner_ids):
        """``{day: {partner_id: values}}`` of ``_gather_payments`` for
        ``partner_ids`` on each of ``days`` (one SQL)."""
        if scope.past:
            # Each invoice's reconciliations (day, amount), read once for all
            # the days; its open amount on a day is its total less those of
            # that day or before.
            invoices = SQL(
                """
                SELECT am.commercial_partner_id AS partner_id,
                       am.invoice_date_due AS due, am.invoice_date,
                       am.amount_total_signed AS amount, p.paid_on, p.paid,
                       p.settled_on
                  FROM account_move am
                  LEFT JOIN LATERAL (
                        SELECT array_agg(apr.max_date) AS paid_on,
                               array_agg(apr.amount) AS paid,
                               CASE WHEN SUM(apr.amount) >= am.amount_total_signed
                                    THEN MAX(apr.max_date) END AS settled_on
                          FROM account_move_line aml
                          JOIN account_partial_reconcile apr
                            ON apr.debit_move_id = aml.id
                         WHERE aml.move_id = am.id
                           AND aml.display_type = 'payment_term'
                           AND apr.max_date <= %(last)s) AS p ON TRUE
                 WHERE %(batch)s AND am.invoice_date <= %(last)s
                """,
                last=max(days),
                batch=self._payments_batch(scope, partner_ids),
            )
            # Paid in full by then: nothing left open, no need to add up.
            residual = SQL(
                """
                CASE WHEN i.settled_on <= d.day THEN 0
                     ELSE i.amount - COALESCE((
                        SELECT SUM(r.amount)
                          FROM unnest(i.paid_on, i.paid) AS r(day, amount)
                         WHERE r.day <= d.day), 0) END
                """
            )
            existed = SQL("i.invoice_date <= d.day")
        else:
            invoices = SQL(
                """
                SELECT am.commercial_partner_id AS partner_id,
                       am.invoice_date_due AS due, am.invoice_date,
                       am.amount_residual_signed AS amount
                  FROM account_move am
                 WHERE %s
                """,
                self._payments_batch(scope, partner_ids),
            )
            residual, existed = SQL("i.amount"), SQL("TRUE")
        self.env.cr.execute(
            SQL(
                """
                SELECT o.day, o.partner_id,
                       COALESCE(SUM(o.residual) FILTER (WHERE o.residual > 0), 0)
                           ::float8,
                       COALESCE(SUM(o.residual)
                           FILTER (WHERE o.due < o.day AND o.residual > 0), 0)
                           ::float8,
                       COALESCE(SUM(o.residual * (o.day - o.due))
                           FILTER (WHERE o.due < o.day AND o.residual > 0), 0)
                           ::float8
                  FROM (
                        SELECT d.day, i.partner_id, i.due, i.invoice_date,
                               %(residual)s AS residual
                          FROM (%(invoices)s OFFSET 0) AS i
                          JOIN unnest(%(days)s::date[]) AS d(day) ON %(existed)s
                        OFFSET 0
                       ) AS o
                 WHERE o.residual > 0 OR o.invoice_date >= o.day - %(history)s
              GROUP BY o.day, o.partner_id
                """,
                invoices=invoices,
                days=array_literal(days),
                existed=existed,
                residual=residual,
                history=PAYMENT_HISTORY_DAYS,
            )
        )
        result = defaultdict(dict)
        for day, partner_id, receivable, overdue, amount_days in self.env.cr.fetchall():
            result[day][partner_id] = {
                "receivable": receivable,
                "overdue": overdue,
                "overdue_days": amount_days / overdue if overdue else 0.0,
            }
        return result

    @api.model
    def _payments_batch(self, scope, partner_ids):
        """The posted customer invoices of ``partner_ids`` in the company."""
        return SQL(
            """
            am.state = 'posted' AND am.move_type = 'out_invoice'
            AND am.company_id = %s AND am.commercial_partner_id = ANY(%s::int4[])
            """,
            scope.company.id,
            array_literal(partner_ids),
        )

    @api.model
    def _gather_overdue_activities(self, scope):
        """Open activities past their deadline on each customer or its
        contacts.  On a past day: those still open now that were overdue
        then, and the plan follow-ups done since that were overdue then
        (their touches keep the deadline; other done activities keep none)."""
        return self._gather_days(scope, "activities", self._overdue_activities_days)

    @api.model
    def _overdue_activities_days(self, scope, days, partner_ids):
        """``{day: {partner_id: values}}`` of the activities source on each
        of ``days`` (one SQL): an activity (or a touch done later) is read
        once and counted on every day it was overdue."""
        done_since = SQL()
        if scope.past:
            done_since = SQL(
                """
                UNION ALL
                SELECT t.partner_id, t.deadline, t.date
                  FROM customer_touch t
                 WHERE t.company_id = %(company_id)s
                   AND t.partner_id = ANY(%(partner_ids)s::int4[])
                   AND t.automated IS NOT TRUE
                   AND t.deadline < %(last)s AND t.date > %(first)s
                """,
                company_id=scope.company.id,
                partner_ids=array_literal(partner_ids),
                first=min(days),
                last=max(days),
            )
        self.env.cr.execute(
            SQL(
                """
                SELECT d.day, o.partner_id, COUNT(*) FROM (
                    SELECT p.commercial_partner_id AS partner_id,
                           a.date_deadline AS deadline, NULL::date AS done
                      FROM mail_activity a
                      JOIN res_partner p ON p.id = a.res_id
                     WHERE a.res_model = 'res.partner'
                       AND a.active
                       AND a.date_deadline < %(last)s
                       AND p.commercial_partner_id = ANY(%(partner_ids)s::int4[])
                    %(done_since)s
                ) AS o
                JOIN unnest(%(days)s::date[]) AS d(day)
                  ON o.deadline < d.day AND (o.done IS NULL OR o.done > d.day)
              GROUP BY d.day, o.partner_id
                """,
                last=max(days),
                days=array_literal(list(days)),
                partner_ids=array_literal(partner_ids),
                done_since=done_since,
            )
        )
        result = defaultdict(dict)
        for day, partner_id, count in self.env.cr.fetchall():
            result[day][partner_id] = {"overdue_activities": count}
        return result

    @api.model
    def _gather_reviews(self, scope):
        """The latest account review of each customer that still counts."""
        max_age = scope.company.customer_health_review_max_age
        self.env.cr.execute(
            SQL(
                """
                SELECT DISTINCT ON (r.partner_id)
                       r.partner_id, r.date, %(scores)s
                  FROM customer_account_review r
                 WHERE r.company_id = %(company_id)s
                   AND r.partner_id = ANY(%(partner_ids)s::int4[])
                   AND r.date <= %(today)s
                   AND r.date >= %(since)s
              ORDER BY r.partner_id, r.date DESC, r.id DESC
                """,
                scores=SQL(", ").join(
                    SQL("r.%s", SQL.identifier(key)) for key in health.REVIEW_KEYS
                ),
                company_id=scope.company.id,
                partner_ids=array_literal(scope.partner_ids),
                today=scope.as_of,
                since=scope.as_of - timedelta(days=max_age),
            )
        )
        return {
            partner_id: {
                "review_date": day,
                "review": {
                    key: int(score) if score else None
                    for key, score in zip(health.REVIEW_KEYS, scores, strict=True)
                },
            }
            for partner_id, day, *scores in self.env.cr.fetchall()
        }

    @api.model
    def _gather_touch_feedback(self, scope):
        """The touches done over the feedback window (automated e-mails
        aside: the outcome is the account team's record of the customer's
        reaction) and those with a negative outcome."""
        self.env["customer.touch"].flush_model(
            ["partner_id", "company_id", "state", "automated", "date", "outcome"]
        )
        # By profile (a touch is the customer's in the profile's company).
        self.env.cr.execute(
            SQL(
                """
                SELECT t.partner_id, COUNT(*),
                       COUNT(*) FILTER (WHERE t.outcome = 'negative')
                  FROM customer_touch t
                 WHERE t.profile_id = ANY(%(profile_ids)s::int4[])
                   AND t.state = 'done'
                   AND t.automated IS NOT TRUE
                   AND t.date > %(since)s
                   AND t.date <= %(today)s
              GROUP BY t.partner_id
                """,
                profile_ids=array_literal(scope.profile_ids),
                since=scope.as_of - timedelta(days=health.FEEDBACK_DAYS),
                today=scope.as_of,
            )
        )
        return {
            partner_id: {"touches": touches, "negative_touches": negative}
            for partner_id, touches, negative in self.env.cr.fetchall()
        }

    @api.model
    def _gather_engagement(self, scope):
        """The health score's engagement dimension: the plan compliance of
        the 90 days before ``as_of``, in percent (no touch due: no data)."""
        stats = self.browse(scope.profile_ids)._fetch_compliance(scope.as_of)
        partner_of = {
            profile_id: partner_id
            for partner_id, profile_id in scope.profile_of.items()
            if profile_id
        }
        return {
            partner_of[profile_id]: {"engagement": compliance.rate}
            for profile_id, compliance in stats.items()
        }

    def _fetch_compliance(self, today):
        """``{profile id: Compliance}``: touches due over the compliance window
        before ``today`` (done, missed, or still open) and those done on time.
        Automated e-mails are left out."""
        since, until = cadence.compliance_window(today)
        self.env.flush_all()
        self.env.cr.execute(
            SQL(
                """
                SELECT profile_id, COUNT(*), COUNT(*) FILTER (WHERE on_time)
                  FROM (
                        SELECT profile_id, on_time
                          FROM customer_touch
                         WHERE profile_id = ANY(%(ids)s::int4[])
                           AND automated IS NOT TRUE
                           AND deadline BETWEEN %(since)s AND %(until)s
                     UNION ALL
                        SELECT customer_profile_id, FALSE
                          FROM mail_activity
                         WHERE customer_profile_id = ANY(%(ids)s::int4[])
                           AND customer_plan_line_id IS NOT NULL AND active
                           AND date_deadline BETWEEN %(since)s AND %(until)s
                       ) AS due
              GROUP BY profile_id
                """,
                ids=array_literal(self.ids),
                since=since,
                until=until,
            )
        )
        return {
            profile_id: cadence.Compliance(due=due, done_on_time=done)
            for profile_id, due, done in self.env.cr.fetchall()
        }
