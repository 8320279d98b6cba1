# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Customer health on the tiering profile: its fields, who follows a
warning up and with what note, and the explanation in the reader's language.

The score itself is decided by the engine (``engine/health.py``, one
registry entry per dimension) in the refresh's evaluate step; its inputs come
from the gather step's sources (``customer_profile_gather.py``) and its
results are written by the store step (``customer_profile_store.py``).
"""

import logging
from collections import defaultdict
from datetime import date

from markupsafe import Markup

from odoo import api, fields, models
from odoo.tools import SQL, format_date

from ..engine import cadence, health, refresh
from .customer_health_snapshot import BANDS
from .sql_arrays import array_literal

_logger = logging.getLogger(__name__)


# One class per step or feature (see customer_profile_gather.py).
class CustomerProfile(models.Model):
    _inherit = "customer.profile"  # pylint: disable=consider-merging-classes-inherited

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
    # Warnings: who follows them up, with what note
    # ------------------------------------------------------------------
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
            raw = refresh.raw_of(data)
            reasons = [
                profile._health_reason(key, raw[key], number, labels, review_date)
                for key in data.get("reasons", [])
            ]
            missing = profile._health_missing()
            if missing:
                reasons.append(
                    self.env._(
                        "Not counted for lack of data (the other weights were "
                        "scaled up): %(dimensions)s.",
                        dimensions=", ".join(labels[key] for key in missing),
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
                for key, raw, sub, weight, points in profile._health_contributions()
            ]
            rows += [
                (labels[key], self.env._("no data: left out"), "", "", "")
                for key in profile._health_missing()
            ]
            body = Markup().join(
                Markup("<tr>%s</tr>")
                % Markup().join(Markup("<td>%s</td>") % text for text in row)
                for row in rows
            )
            profile.health_breakdown = refresh.raw_of(data) and Markup(
                '<table class="table table-sm o_customer_health_breakdown">'
                "<thead><tr>%s</tr></thead><tbody>%s</tbody></table>"
            ) % (head, body)

    def _health_contributions(self):
        """``[(key, raw, subscore, weight, points)]`` of the profile's last
        evaluation, most points lost first: its stored raw values ranked
        against the company's scorecard by the engine (the score's own rule:
        a scorecard changed since is applied by the full refresh it asks
        for)."""
        self.ensure_one()
        raw = refresh.raw_of(self.health_data or {})
        if not raw:
            return []
        scorecard = self.env["customer.health.dimension"]._scorecard_dimensions(
            self.company_id.id
        )[0]
        result = health.Scorer(scorecard, checked=True).score(raw)
        return [c[:5] for c in result.contributions]

    def _health_missing(self):
        """The dimensions the profile's last evaluation had no data for, in
        the order of the company's scorecard (the stored explanation is
        jsonb, which keeps no key order)."""
        self.ensure_one()
        missing = set(refresh.missing_of(self.health_data or {}))
        if not missing:
            return []
        scorecard = self.env["customer.health.dimension"]._scorecard_dimensions(
            self.company_id.id
        )[0]
        ordered = [dim.key for dim in scorecard if dim.key in missing]
        return ordered + sorted(missing.difference(ordered))

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
