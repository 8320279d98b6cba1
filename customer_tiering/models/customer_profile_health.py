# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Customer health, kept on the tiering profile and scored in the same pass.

Per batch of profiles (see ``customer.profile._refresh``): one SQL per extra
source (receivables, overdue activities, account reviews, snapshots), the
engine for score, band, trend and warnings; the results go into the
profile's single bulk UPDATE.  Partner fields, snapshots and warning
activities are written, in bulk, only for the customers that need them.
"""

import json
import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta

from markupsafe import Markup

from odoo import api, fields, models
from odoo.tools import SQL, format_date

from ..engine import cadence, health
from .customer_health_snapshot import BANDS
from .sql_arrays import array_literal

_logger = logging.getLogger(__name__)

# Invoices of the last year count for payment behaviour even when paid.
PAYMENT_HISTORY_DAYS = 365
# Snapshots read per batch: the current month and the trend's window.
HISTORY_DAYS = 62


def compact_json(value):
    """JSON without spaces: one explanation per customer, rewritten nightly."""
    return json.dumps(value, separators=(",", ":"))


@dataclass
class HealthBatch:
    """What one batch's evaluation decided; written by ``_health_apply``."""

    columns: dict = field(default_factory=dict)  # profile id -> HEALTH_COLUMNS
    # values (see customer_profile.py)
    partners: list = field(default_factory=list)  # (partner id, score, band)
    snapshots: list = field(default_factory=list)  # create values
    warnings: list = field(default_factory=list)  # (profile, code, peak, user)


class CustomerProfile(models.Model):
    _inherit = "customer.profile"

    health_score = fields.Float(
        aggregator="avg", help="0 to 100; empty when no dimension has data."
    )
    health_band = fields.Selection(BANDS, index=True)
    health_trend = fields.Float(
        aggregator="avg", help="Score change against about 30 days earlier."
    )
    health_data = fields.Json(
        help="Breakdown of the score: each dimension's raw value, sub-score, "
        "weight and points, the missing dimensions and the top reasons."
    )
    health_warned_on = fields.Date(
        string="Last Health Warning",
        help="When the last health-risk follow-up was created.",
    )
    health_reasons = fields.Html(compute="_compute_health_reasons", sanitize=False)
    health_breakdown = fields.Html(compute="_compute_health_breakdown", sanitize=False)
    health_snapshot_ids = fields.One2many(
        "customer.health.snapshot", "profile_id", string="Health History"
    )

    # ------------------------------------------------------------------
    # Evaluation (called by _refresh, before its bulk UPDATE)
    # ------------------------------------------------------------------
    def _health_evaluate(self, company, today, metrics, state):
        """Score these profiles; return the batch's :class:`HealthBatch`.

        ``state`` is what ``_fetch_state`` read of them (``{profile_id:
        ProfileState}``)."""
        scorecard = self.env["customer.health.dimension"]._get_scorecard(company)
        facts, review_dates = self._health_facts(company, today, metrics, state)
        history = self._health_history(today)
        cutoffs = (
            company.customer_health_healthy_min,
            company.customer_health_watch_min,
        )
        batch, candidates = HealthBatch(), []
        for profile_id, st in state.items():
            partner_id = st.partner_id
            raw = health.raw_values(facts[partner_id], today)
            # The scorecard was validated by _get_scorecard.
            result = health.compute_health(scorecard, raw, checked=True)
            band = health.band(result.score, *cutoffs)
            old_band = st.health_band or None
            past = history.get(profile_id, [])
            peak = health.recent_peak(
                past, today, previous=st.health_score if old_band else None
            )
            code = health.should_warn(
                old_band=old_band,
                new_band=band,
                old_score_30d=peak,
                new_score=result.score,
                drop_points=company.customer_health_drop_points,
            )
            if code:
                candidates.append((st, code, peak))
            reason = health.snapshot_reason(
                last_snapshot=max((when for when, __ in past), default=None),
                today=today,
                old_band=old_band,
                new_band=band,
            )
            last_snapshot = max((when for when, __ in past), default=None)
            if reason or health.updates_day_snapshot(
                last_snapshot=last_snapshot, today=today, new_band=band
            ):
                # reason None: today's snapshot is rewritten, none is added.
                batch.snapshots.append(
                    {
                        "profile_id": profile_id,
                        "partner_id": partner_id,
                        "company_id": company.id,
                        "date": today,
                        "score": result.score,
                        "band": band,
                        "reason": reason,
                    }
                )
            batch.partners.append((partner_id, result.score, band))
            reference = health.reference_score(past, today)
            batch.columns[profile_id] = [
                result.score,
                band,
                health.trend(result.score, reference),
                compact_json(
                    self._health_data(
                        result,
                        scorecard,
                        review_dates.get(partner_id),
                        reference=reference,
                    )
                ),
                st.health_warned_on,
            ]
        self._health_select_warnings(company, today, candidates, batch)
        return batch

    @api.model
    def _health_data(self, result, scorecard, review_date, reference=None):
        """The stored explanation: contributions (most points lost first; raw
        values exact, so that ``_rescore_after_order`` can score again after a
        new order without reading every source), missing dimensions (in
        scorecard order), top reasons, review date, the trend's reference."""
        return {
            "ref": reference,
            "dims": [
                [
                    c.key,
                    c.raw,
                    round(c.subscore, 1),
                    round(c.weight, 4),
                    round(c.points, 2),
                ]
                for c in result.contributions
            ],
            "missing": [dim.key for dim in scorecard if dim.key in result.missing],
            "reasons": [c.key for c in health.top_reasons(result)],
            "review_date": review_date and review_date.isoformat(),
        }

    @api.model
    def _rescore_after_order(self, company, today, st, metrics, data):
        """The HEALTH_COLUMNS values of a profile (``st``) after a new order,
        from its stored explanation ``data`` (exact raw values of the sources
        an order does not change) and its new order ``metrics``; None when the
        order lowers the score (a warning may then be due: the full
        evaluation handles it)."""
        scorecard = self.env["customer.health.dimension"]._get_scorecard(company)
        # Dimensions absent from "dims" had no data (or are off): None.
        raw = {key: value for key, value, *__ in data["dims"]}
        raw.update(
            health.order_raw_values(
                health.Facts(
                    last_order_date=metrics["last_order_date"],
                    orders=metrics["order_count"],
                    orders_prev=metrics["order_count_prev"],
                    revenue=metrics["revenue"],
                    revenue_prev=metrics["revenue_prev"],
                ),
                today,
            )
        )
        result = health.compute_health(scorecard, raw, checked=True)
        band = health.band(
            result.score,
            company.customer_health_healthy_min,
            company.customer_health_watch_min,
        )
        if st.health_score is not None and (
            result.score is None or result.score < st.health_score
        ):
            return None
        review_date = data.get("review_date")
        return [
            result.score,
            band,
            health.trend(result.score, data["ref"]),
            compact_json(
                self._health_data(
                    result,
                    scorecard,
                    review_date and date.fromisoformat(review_date),
                    reference=data["ref"],
                )
            ),
            st.health_warned_on,
        ]

    def _health_apply_one(self, company, today, st, columns, tier_id):
        """``_health_apply`` for one profile (``st``) re-scored by
        ``_rescore_after_order``: no warning is due (the score did not drop);
        a snapshot only if the band moved (the day's evaluation took the
        monthly one)."""
        score, band = columns[:2]
        batch = HealthBatch()
        if band != st.health_band:
            # The partner's band follows the profile's (unchanged: nothing).
            batch.partners.append((st.partner_id, score, band))
        if band:
            # A band change adds a snapshot; otherwise today's snapshot, if
            # there is one, follows this evaluation (reason None: no new row).
            batch.snapshots.append(
                {
                    "profile_id": st.id,
                    "partner_id": st.partner_id,
                    "company_id": company.id,
                    "date": today,
                    "score": score,
                    "band": band,
                    "reason": "band"
                    if st.health_band and band != st.health_band
                    else None,
                }
            )
        self._health_apply(company, today, batch, {st.id: tier_id})

    def _health_select_warnings(self, company, today, candidates, batch):
        """Keep the warnings that are due and have someone to act on them."""
        if not candidates:
            return
        open_ids = self._health_open_warnings([st.partner_id for st, *__ in candidates])
        due = [
            (st, code, peak)
            for st, code, peak in candidates
            if health.warning_due(
                code,
                open_warning=st.partner_id in open_ids,
                warned_on=st.health_warned_on,
                today=today,
            )
        ]
        # Records only for the customers to warn (a few per night).
        profiles = self.browse([st.id for st, *__ in due])
        unassigned = []
        for profile, (st, code, peak) in zip(profiles, due, strict=True):
            if not profile.partner_id.active:
                continue  # archived: no follow-up (its activities were removed)
            user = self._health_responsible(profile.partner_id, company)
            if user:
                batch.warnings.append((profile, code, peak, user))
                batch.columns[st.id][-1] = today
            else:
                unassigned.append(st.partner_id)
        if unassigned:
            _logger.warning(
                "customer_tiering: no one to follow up the health of %s customers "
                "(company %s, e.g. partners %s): set their salesperson or a "
                "default user in the Settings.",
                len(unassigned),
                company.id,
                unassigned[:10],
            )

    @api.model
    def _health_responsible(self, partner, company):
        """The account manager, else the sales team leader, else the default."""
        candidates = (
            partner.user_id,
            self._health_team_leader(partner),
            company.customer_health_user_id,
        )
        return next((user for user in candidates if user.active), None)

    @api.model
    def _health_team_leader(self, partner):
        """Leader of the customer's sales team (CRM's ``team_id`` when installed),
        else of its salesperson's team."""
        team = partner["team_id"] if "team_id" in partner._fields else False
        return (team or partner.user_id.sale_team_id).user_id

    # ------------------------------------------------------------------
    # Data: one SQL per source and batch
    # ------------------------------------------------------------------
    def _health_facts(self, company, today, metrics, state):
        """Engine facts per partner of these profiles, and their review dates."""
        partner_ids = [st.partner_id for st in state.values()]
        payments = self._health_payments(company, today, partner_ids)
        activities = self._health_overdue_activities(today, partner_ids)
        reviews = self._health_reviews(company, today, partner_ids)
        feedback = self._health_touch_feedback(company, today, partner_ids)
        engagement = self._health_engagement_rates(
            company, today, partner_of={st.id: st.partner_id for st in state.values()}
        )
        facts = {}
        for partner_id in partner_ids:
            m = metrics.get(partner_id, {})
            pay = payments.get(partner_id, {})
            review = reviews.get(partner_id, {})
            facts[partner_id] = health.Facts(
                last_order_date=m.get("last_order_date"),
                orders=m.get("order_count", 0),
                orders_prev=m.get("order_count_prev", 0),
                revenue=m.get("revenue", 0.0),
                revenue_prev=m.get("revenue_prev", 0.0),
                receivable=pay.get("receivable"),
                overdue=pay.get("overdue", 0.0),
                overdue_days=pay.get("overdue_days", 0.0),
                overdue_activities=activities.get(partner_id, 0),
                engagement=engagement.get(partner_id),
                review={
                    key: int(review[key]) if review.get(key) else None
                    for key in health.REVIEW_KEYS
                },
                **feedback.get(partner_id, {}),
            )
        return facts, {pid: review["date"] for pid, review in reviews.items()}

    def _health_engagement_rates(self, company, today, partner_of=None):
        """Percent of the planned follow-ups due in the last 90 days that were
        done, per customer: ``{partner_id: rate or None}``.  ``partner_of``
        (``{profile_id: partner_id}``) spares reading the profiles.

        Hook for the maintenance plans, which override it; without plans the
        engagement dimension has no data and is left out of the score.
        """
        return {}

    def _health_payments(self, company, today, partner_ids):
        """Open receivables, overdue part and amount-weighted days overdue per
        customer, from posted invoices (company currency, partial payments
        deducted).  Customers without open or recent invoices are absent."""
        late = SQL("am.invoice_date_due < %s AND am.amount_residual_signed > 0", today)
        self.env.cr.execute(
            SQL(
                """
                SELECT am.commercial_partner_id AS partner_id,
                       COALESCE(SUM(am.amount_residual_signed) FILTER (
                           WHERE am.amount_residual_signed > 0), 0) AS receivable,
                       COALESCE(SUM(am.amount_residual_signed)
                           FILTER (WHERE %(late)s), 0) AS overdue,
                       COALESCE(SUM(am.amount_residual_signed
                                    * (%(today)s - am.invoice_date_due))
                           FILTER (WHERE %(late)s), 0) AS overdue_amount_days
                  FROM account_move am
                 WHERE am.state = 'posted'
                   AND am.move_type = 'out_invoice'
                   AND am.company_id = %(company_id)s
                   AND am.commercial_partner_id = ANY(%(partner_ids)s::int4[])
                   AND (am.amount_residual_signed > 0 OR am.invoice_date >= %(since)s)
              GROUP BY am.commercial_partner_id
                """,
                late=late,
                today=today,
                company_id=company.id,
                partner_ids=array_literal(partner_ids),
                since=today - timedelta(days=PAYMENT_HISTORY_DAYS),
            )
        )
        result = {}
        for partner_id, receivable, overdue, amount_days in self.env.cr.fetchall():
            overdue = float(overdue)
            result[partner_id] = {
                "receivable": float(receivable),
                "overdue": overdue,
                "overdue_days": float(amount_days) / overdue if overdue else 0.0,
            }
        return result

    def _health_overdue_activities(self, today, partner_ids):
        """Open activities past their deadline on each customer or its contacts."""
        self.env.cr.execute(
            SQL(
                """
                SELECT p.commercial_partner_id, COUNT(*)
                  FROM mail_activity a
                  JOIN res_partner p ON p.id = a.res_id
                 WHERE a.res_model = 'res.partner'
                   AND a.active
                   AND a.date_deadline < %s
                   AND p.commercial_partner_id = ANY(%s::int4[])
              GROUP BY p.commercial_partner_id
                """,
                today,
                array_literal(partner_ids),
            )
        )
        return dict(self.env.cr.fetchall())

    def _health_reviews(self, company, today, partner_ids):
        """The latest account review of each customer that still counts."""
        max_age = company.customer_health_review_max_age
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
                company_id=company.id,
                partner_ids=array_literal(partner_ids),
                today=today,
                since=today - timedelta(days=max_age),
            )
        )
        return {row["partner_id"]: row for row in self.env.cr.dictfetchall()}

    def _health_touch_feedback(self, company, today, partner_ids):
        """``{partner_id: {"touches": n, "negative_touches": m}}``: the touches
        done over the feedback window (automated e-mails aside: the outcome
        is the account team's record of the customer's reaction) and those
        with a negative outcome.  Customers without such touches are
        absent."""
        self.env["customer.touch"].flush_model(
            ["partner_id", "company_id", "state", "automated", "date", "outcome"]
        )
        self.env.cr.execute(
            SQL(
                """
                SELECT t.partner_id, COUNT(*),
                       COUNT(*) FILTER (WHERE t.outcome = 'negative')
                  FROM customer_touch t
                 WHERE t.company_id = %(company_id)s
                   AND t.partner_id = ANY(%(partner_ids)s::int4[])
                   AND t.state = 'done'
                   AND t.automated IS NOT TRUE
                   AND t.date > %(since)s
                   AND t.date <= %(today)s
              GROUP BY t.partner_id
                """,
                company_id=company.id,
                partner_ids=array_literal(partner_ids),
                since=today - timedelta(days=health.FEEDBACK_DAYS),
                today=today,
            )
        )
        return {
            partner_id: {"touches": touches, "negative_touches": negative}
            for partner_id, touches, negative in self.env.cr.fetchall()
        }

    def _health_history(self, today):
        """Recent snapshots per profile: ``{profile_id: [(date, score)]}``."""
        self.env.cr.execute(
            SQL(
                """
                SELECT profile_id, date, score
                  FROM customer_health_snapshot
                 WHERE profile_id = ANY(%s::int4[]) AND date > %s AND date <= %s
              ORDER BY profile_id, date, id
                """,
                array_literal(self.ids),
                today - timedelta(days=HISTORY_DAYS),
                today,
            )
        )
        history = {}
        for profile_id, when, score in self.env.cr.fetchall():
            history.setdefault(profile_id, []).append((when, score))
        return history

    @api.model
    def _health_open_warnings(self, partner_ids):
        """Customers among ``partner_ids`` with an open health-risk activity."""
        activity_type = self.env.ref("customer_tiering.mail_activity_type_health_risk")
        self.env.cr.execute(
            SQL(
                """
                SELECT DISTINCT res_id FROM mail_activity
                 WHERE res_model = 'res.partner' AND active
                   AND activity_type_id = %s AND res_id = ANY(%s)
                """,
                activity_type.id,
                partner_ids,
            )
        )
        return {row[0] for row in self.env.cr.fetchall()}

    # ------------------------------------------------------------------
    # Writing (called by _refresh, after its bulk UPDATE)
    # ------------------------------------------------------------------
    def _health_apply(self, company, today, batch, tiers):
        """Partner fields, snapshots and warnings of one batch, in bulk."""
        # The bulk UPDATE bypassed the ORM: drop the explanations computed
        # from the previous values.
        self.invalidate_model(["health_reasons", "health_breakdown"])
        self.env["res.partner"].invalidate_model(
            [
                "customer_health_score",
                "customer_health_trend",
                "customer_health_reasons",
                "customer_health_breakdown",
            ]
        )
        self._health_sync_partners(company, batch.partners)
        self._health_insert_snapshots(batch.snapshots, tiers)
        if batch.warnings:
            self._health_warn(today, batch.warnings)

    def _health_insert_snapshots(self, snapshots, tiers):
        """One statement for the batch's snapshots: few on most nights, but
        every customer gets its monthly one on the first night of a month.

        A customer that has a snapshot dated that day gets it rewritten (the
        day's snapshot follows the day's last evaluation; a band change keeps
        its reason); the others get a new row, unless their ``reason`` is None
        (rewrite only)."""
        if not snapshots:
            return
        now, uid = fields.Datetime.now(), self.env.uid
        rows = SQL(", ").join(
            SQL(
                "(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                vals["profile_id"],
                vals["partner_id"],
                vals["company_id"],
                vals["date"],
                vals["score"],
                vals["band"],
                tiers.get(vals["profile_id"]) or None,
                vals["reason"],
                uid,
                now,
                uid,
                now,
            )
            for vals in snapshots
        )
        self.env["customer.health.snapshot"].flush_model()
        self.env.cr.execute(
            SQL(
                """
                WITH v (profile_id, partner_id, company_id, date, score, band,
                        tier_id, reason, create_uid, create_date, write_uid,
                        write_date) AS (VALUES %s),
                     rewritten AS (
                    UPDATE customer_health_snapshot AS s
                       SET score = v.score::float8,
                           band = v.band::varchar,
                           tier_id = v.tier_id::int4,
                           reason = CASE WHEN v.reason::varchar = 'band'
                                         THEN 'band' ELSE s.reason END,
                           write_uid = v.write_uid::int4,
                           write_date = v.write_date::timestamp
                      FROM v
                     WHERE s.profile_id = v.profile_id::int4
                       AND s.date = v.date::date
                 RETURNING s.profile_id
                )
                INSERT INTO customer_health_snapshot
                       (profile_id, partner_id, company_id, date, score, band,
                        tier_id, reason, create_uid, create_date, write_uid,
                        write_date)
                SELECT v.profile_id::int4, v.partner_id::int4, v.company_id::int4,
                       v.date::date, v.score::float8, v.band::varchar,
                       v.tier_id::int4, v.reason::varchar, v.create_uid::int4,
                       v.create_date::timestamp, v.write_uid::int4,
                       v.write_date::timestamp
                  FROM v
                 WHERE v.reason IS NOT NULL
                   AND v.profile_id::int4 NOT IN (SELECT profile_id FROM rewritten)
                """,
                rows,
            )
        )
        self.env["customer.health.snapshot"].invalidate_model()
        self.invalidate_model(["health_snapshot_ids"])
        self.env["res.partner"].invalidate_model(["customer_health_snapshot_count"])

    @api.model
    def _health_sync_partners(self, company, rows):
        """The band on the partners (``rows``: partner id, score, band), where
        it changed: one UPDATE.  The score is read from the profile.

        The field is company-dependent (one jsonb column); the statement
        merges this company's key as the ORM would, but skips unchanged rows in
        SQL and needs no write() per partner.
        """
        if not rows:
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
                ids=array_literal(row[0] for row in rows),
                bands=array_literal(row[2] for row in rows),
            )
        )
        if self.env.cr.rowcount:
            Partner.invalidate_model(["customer_health_band"])

    @api.model
    def _health_warn(self, today, warnings):
        """One "Health risk review" activity per warned customer, for its
        account manager, due by the tier's response time; the sales team
        leader of customers whose tier asks for it is notified too."""
        activity_type = self.env.ref("customer_tiering.mail_activity_type_health_risk")
        model_id = self.env["ir.model"]._get_id("res.partner")
        vals_list, leaders = [], []
        warned = [profile.id for profile, *__ in warnings]
        for profile, code, peak, user in warnings:
            # Explanations only for the warned profiles, not the whole batch.
            profile = profile.with_prefetch(warned)
            deadline = today + timedelta(days=profile.tier_id.response_days)
            local = profile.with_context(lang=user.lang or self.env.lang)
            note = local._health_warning_note(code, peak)
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

    def _health_warning_note(self, code, peak):
        """The activity note and the team leader's message, on the partner,
        which other companies may share: they name the company and carry no
        score and no reason (those stay on this company's profile, Health
        tab)."""
        self.ensure_one()
        if code == "entered_at_risk":
            head = self.env._(
                "%(company)s: %(customer)s entered the at-risk band.",
                company=self.company_id.name,
                customer=self.partner_id.display_name,
            )
        else:
            head = self.env._(
                "%(company)s: the health score of %(customer)s fell sharply "
                "within 30 days.",
                company=self.company_id.name,
                customer=self.partner_id.display_name,
            )
        return Markup("<p>%s</p><p>%s</p>") % (
            head,
            self.env._("The reasons are on the Health tab of the customer."),
        )

    def _demo_reset_health(self):
        """Demo data: forget the health state left by the sales hooks while the
        demo orders loaded (scored "today", one order at a time), so that the
        history starts with the simulated past evaluation of _demo_refresh."""
        activity_type = self.env.ref("customer_tiering.mail_activity_type_health_risk")
        self.env["mail.activity"].search(
            [
                ("res_model", "=", "res.partner"),
                ("res_id", "in", self.partner_id.ids),
                ("activity_type_id", "=", activity_type.id),
            ]
        ).unlink()
        # Snapshots are append-only for the ORM (see customer.health.snapshot):
        # the demo's own, scored while its orders loaded, go in SQL.
        self.env["customer.health.snapshot"].flush_model()
        self.env.cr.execute(
            SQL(
                "DELETE FROM customer_health_snapshot "
                "WHERE profile_id = ANY(%s::int4[])",
                array_literal(self.ids),
            )
        )
        self.env["customer.health.snapshot"].invalidate_model()
        self.invalidate_model(["health_snapshot_ids"])
        self._engine().write(
            dict.fromkeys(
                ("health_score", "health_band", "health_trend", "health_warned_on"),
                False,
            )
        )

    # ------------------------------------------------------------------
    # Explanation, in the reader's language
    # ------------------------------------------------------------------
    def _health_labels(self):
        """Translated dimension names, and a number formatter of the language
        (looked up once: explanations are built for whole batches)."""
        labels = dict(
            self.env["customer.health.dimension"]
            ._fields["key"]
            ._description_selection(self.env)
        )
        lang = self.env["res.lang"]._lang_get(self.env.lang or "en_US")
        return labels, lambda value, digits=0: lang.format(
            f"%.{digits}f", value, grouping=True
        )

    @api.depends("health_data")
    @api.depends_context("lang")
    def _compute_health_reasons(self):
        labels, number = self._health_labels()
        moments = self._health_coming_key_moments()
        for profile in self:
            data = profile.health_data or {}
            review_date = data.get("review_date")
            review_date = review_date and date.fromisoformat(review_date)
            dims = {row[0]: row for row in data.get("dims", [])}
            reasons = [
                profile._health_reason(key, dims[key][1], number, labels, review_date)
                for key in data.get("reasons", [])
            ]
            if data.get("missing"):
                reasons.append(
                    self.env._(
                        "Not counted for lack of data (the other weights were "
                        "scaled up): %(dimensions)s.",
                        dimensions=", ".join(labels[key] for key in data["missing"]),
                    )
                )
            if profile.id in moments:
                reasons.append(profile._health_key_moment_note(moments[profile.id]))
            profile.health_reasons = (
                Markup("<ul>%s</ul>")
                % Markup().join(Markup("<li>%s</li>") % r for r in reasons)
                if reasons
                else False
            )

    def _health_coming_key_moments(self):
        """``{profile id: key moment}``: the coming key moment of each of
        these profiles that follows a plan (the engine picks it), as the
        current user may read them."""
        followed = self.filtered("plan_id")
        if not followed:
            return {}
        found = self.env["customer.key.moment"].search(
            [
                ("partner_id", "in", followed.partner_id.ids),
                ("company_id", "in", followed.company_id.ids),
                ("done", "=", False),
            ]
        )
        by_customer = defaultdict(list)
        for moment in found:
            by_customer[moment.partner_id, moment.company_id].append(moment)
        result = {}
        for profile in followed:
            mine = {
                m.id: m for m in by_customer[profile.partner_id, profile.company_id]
            }
            coming = cadence.coming_key_moment(
                [m._window() for m in mine.values()],
                profile.company_id._customer_tiering_today(),
            )
            if coming:
                result[profile.id] = mine[coming.moment_id]
        return result

    def _health_key_moment_note(self, moment):
        """The explanation's line about a coming key moment."""
        window = moment._window()
        values = {
            "moment": moment.type_id.name,
            "date": format_date(self.env, moment.date),
        }
        if window.is_open(self.company_id._customer_tiering_today()):
            return self.env._(
                "%(moment)s on %(date)s: follow-ups at the faster rhythm.", **values
            )
        return self.env._(
            "%(moment)s on %(date)s: follow-ups at the faster rhythm from %(opens)s.",
            opens=format_date(self.env, window.opens),
            **values,
        )

    @api.depends("health_data")
    @api.depends_context("lang")
    def _compute_health_breakdown(self):
        labels, number = self._health_labels()
        head = Markup().join(
            Markup("<th>%s</th>") % text
            for text in (
                self.env._("Dimension"),
                self.env._("Value"),
                self.env._("Score"),
                self.env._("Weight"),
                self.env._("Points"),
            )
        )
        for profile in self:
            data = profile.health_data or {}
            rows = [
                (
                    labels[key],
                    profile._health_value(key, raw, number),
                    number(sub),
                    f"{number(weight * 100)} %",
                    number(points, 1),
                )
                for key, raw, sub, weight, points in data.get("dims", [])
            ]
            rows += [
                (labels[key], self.env._("no data: left out"), "", "", "")
                for key in data.get("missing", [])
            ]
            body = Markup().join(
                Markup("<tr>%s</tr>")
                % Markup().join(Markup("<td>%s</td>") % text for text in row)
                for row in rows
            )
            profile.health_breakdown = data.get("dims") and Markup(
                '<table class="table table-sm o_customer_health_breakdown">'
                "<thead><tr>%s</tr></thead><tbody>%s</tbody></table>"
            ) % (head, body)

    def _health_value(self, key, raw, number):
        """A raw value with its unit: "142 days", "-50 %", "2/5"..."""
        kind = health.REGISTRY[key].kind
        if kind == "days":
            return self.env._("%(days)s days", days=number(raw))
        if kind == "signed_pct":
            return f"{raw:+.0f} %"
        if kind == "pct":
            return f"{number(raw)} %"
        if kind == "count":
            return number(raw)
        return f"{raw:.0f}/5"

    def _health_reason(self, key, raw, number, labels, review_date):
        """One of the top reasons of a score, in plain words: the registry
        entry's reason text (marked for translation in the engine), with the
        placeholders of ``health.REASON_PLACEHOLDERS``."""
        value = number(abs(raw))
        # Formatted outside the call: Odoo's term export (babel) cannot read
        # an f-string among a translation call's arguments.
        signed = f"{raw:+.0f}"
        return self.env._(
            health.REGISTRY[key].reason,
            days=value,
            share=value,
            rate=value,
            count=value,
            score=value,
            change=signed,
            dimension=labels[key],
            date=format_date(self.env, review_date, date_format="long")
            if review_date
            else "",
        )
