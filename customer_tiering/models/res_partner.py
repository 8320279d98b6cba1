# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from collections import defaultdict

from odoo import api, fields, models

from .customer_health_snapshot import BANDS


class ResPartner(models.Model):
    _inherit = "res.partner"

    # Company-dependent: a customer shared by two companies carries a tier in
    # each.  Stored in res_partner's jsonb column so that lists can filter and
    # group on it; maintained by customer.profile, written only on change.
    customer_tier_id = fields.Many2one(
        "customer.tier",
        company_dependent=True,
        readonly=True,
        help="Tier carried by this customer in the current company.",
    )
    customer_strategic = fields.Boolean(
        string="Strategic Account",
        tracking=True,
        help="A judgement of the account team: industry leader, reference "
        "customer... Tiers can require it.",
    )
    customer_profile_id = fields.Many2one(
        "customer.profile",
        string="Tiering Profile",
        compute="_compute_customer_profile_id",
        search="_search_customer_profile_id",
    )
    customer_profile_ids = fields.One2many(
        "customer.profile", "partner_id", string="Tiering Profiles"
    )
    customer_tier_color = fields.Integer(
        string="Tier Color", related="customer_tier_id.color"
    )
    customer_computed_tier_id = fields.Many2one(
        related="customer_profile_id.computed_tier_id"
    )
    customer_tier_pending_since = fields.Date(
        string="Downgrade Pending Since",
        related="customer_profile_id.pending_downgrade_since",
        search="_search_customer_tier_pending_since",
    )
    customer_tier_overridden = fields.Boolean(
        string="Tier Overridden",
        related="customer_profile_id.override_active",
        search="_search_customer_tier_overridden",
    )
    customer_override_reason = fields.Text(
        related="customer_profile_id.override_reason"
    )
    customer_override_until = fields.Date(related="customer_profile_id.override_until")
    customer_override_user_id = fields.Many2one(
        related="customer_profile_id.override_user_id"
    )
    customer_currency_id = fields.Many2one(
        string="Tiering Currency", related="customer_profile_id.currency_id"
    )
    customer_revenue = fields.Monetary(
        related="customer_profile_id.revenue", currency_field="customer_currency_id"
    )
    customer_revenue_prev = fields.Monetary(
        related="customer_profile_id.revenue_prev",
        currency_field="customer_currency_id",
    )
    customer_growth = fields.Float(related="customer_profile_id.growth")
    customer_order_count = fields.Integer(related="customer_profile_id.order_count")
    customer_lifetime_revenue = fields.Monetary(
        related="customer_profile_id.lifetime_revenue",
        currency_field="customer_currency_id",
    )
    customer_last_order_date = fields.Date(
        related="customer_profile_id.last_order_date"
    )
    customer_evaluated_at = fields.Datetime(related="customer_profile_id.evaluated_at")
    customer_tier_history_count = fields.Integer(
        compute="_compute_customer_tier_history_count"
    )
    # Health: score and band company-dependent like the tier (lists filter and
    # group on them), maintained by customer.profile, written only on change.
    # Read from the profile, not stored on the partner: the score moves a
    # little for most customers every night, and res_partner is a wide, busy
    # table (rewriting 100,000 of its rows costs seconds; see BENCHMARKS.md).
    # The band, which users group by and changes seldom, is stored.
    customer_health_score = fields.Float(
        string="Health Score",
        related="customer_profile_id.health_score",
        search="_search_customer_health_score",
        help="0 to 100, from the weighted health scorecard.",
    )
    customer_health_band = fields.Selection(
        BANDS, string="Health", company_dependent=True, readonly=True
    )
    customer_health_trend = fields.Float(
        string="Health Trend",
        related="customer_profile_id.health_trend",
        search="_search_customer_health_trend",
        help="Score change against about 30 days earlier.",
    )
    customer_health_reasons = fields.Html(related="customer_profile_id.health_reasons")
    customer_health_breakdown = fields.Html(
        related="customer_profile_id.health_breakdown"
    )
    customer_health_snapshot_count = fields.Integer(
        compute="_compute_customer_health_counts"
    )
    customer_review_count = fields.Integer(compute="_compute_customer_health_counts")
    customer_last_review_id = fields.Many2one(
        "customer.account.review",
        string="Last Account Review",
        compute="_compute_customer_health_counts",
    )
    # Maintenance plans: the expert is the second owner of a key account (the
    # "dual manager" model); the plan state itself lives on the profile.
    customer_expert_user_id = fields.Many2one(
        "res.users",
        string="Expert",
        domain="[('share', '=', False)]",
        tracking=True,
        help="Technical or industry expert who serves this customer beside the "
        "salesperson; maintenance plans can give touches to the expert.",
    )
    customer_plan_id = fields.Many2one(related="customer_profile_id.plan_id")
    customer_pinned_plan_id = fields.Many2one(
        related="customer_profile_id.pinned_plan_id", readonly=False
    )
    customer_next_touch_date = fields.Date(
        string="Next Touch",
        related="customer_profile_id.next_touch_date",
        search="_search_customer_next_touch_date",
    )
    customer_plan_compliance = fields.Float(
        related="customer_profile_id.plan_compliance"
    )
    customer_touches_due = fields.Integer(related="customer_profile_id.touches_due")
    customer_touches_on_time = fields.Integer(
        related="customer_profile_id.touches_on_time"
    )
    # Searched as the current user (not related, which reads as superuser):
    # a salesperson sees the follow-ups and touches they may read.
    customer_followup_ids = fields.Many2many(
        "mail.activity",
        string="Planned Follow-ups",
        compute="_compute_customer_plan_records",
    )
    customer_touch_ids = fields.Many2many(
        "customer.touch", string="Touches", compute="_compute_customer_plan_records"
    )

    @api.depends_context("company")
    @api.depends("customer_profile_ids")
    def _compute_customer_profile_id(self):
        profiles = self.env["customer.profile"].search(
            [
                ("partner_id", "in", self.commercial_partner_id.ids),
                ("company_id", "=", self.env.company.id),
            ]
        )
        by_partner = {profile.partner_id.id: profile for profile in profiles}
        for partner in self:
            partner.customer_profile_id = by_partner.get(
                partner.commercial_partner_id.id, False
            )

    @api.depends_context("company", "uid")
    @api.depends("customer_profile_ids")
    def _compute_customer_plan_records(self):
        profiles = self.customer_profile_id
        activities = self.env["mail.activity"].search(
            [("customer_profile_id", "in", profiles.ids)]
        )
        touches = self.env["customer.touch"].search(
            [("profile_id", "in", profiles.ids)]
        )
        for partner in self:
            profile = partner.customer_profile_id
            partner.customer_followup_ids = activities.filtered(
                lambda a, p=profile: a.customer_profile_id == p
            )
            partner.customer_touch_ids = touches.filtered(
                lambda t, p=profile: t.profile_id == p
            )

    @api.depends_context("company")
    def _compute_customer_tier_history_count(self):
        groups = self.env["customer.tier.history"]._read_group(
            [
                ("partner_id", "in", self.commercial_partner_id.ids),
                ("company_id", "=", self.env.company.id),
            ],
            ["partner_id"],
            ["__count"],
        )
        counts = {partner.id: count for partner, count in groups}
        for partner in self:
            partner.customer_tier_history_count = counts.get(
                partner.commercial_partner_id.id, 0
            )

    @api.depends_context("company")
    def _compute_customer_health_counts(self):
        commercial = self.commercial_partner_id.ids
        company_domain = [("company_id", "=", self.env.company.id)]
        domain = [("partner_id", "in", commercial), *company_domain]
        snapshots = dict(
            self.env["customer.health.snapshot"]._read_group(
                domain, ["partner_id"], ["__count"]
            )
        )
        # Newest first (the model's order): the first seen is the last review.
        Review = self.env["customer.account.review"]
        last, review_counts = {}, defaultdict(int)
        for review in Review.search(domain):
            last.setdefault(review.partner_id, review)
            review_counts[review.partner_id] += 1
        for partner in self:
            commercial_partner = partner.commercial_partner_id
            partner.customer_health_snapshot_count = snapshots.get(
                commercial_partner, 0
            )
            partner.customer_review_count = review_counts.get(commercial_partner, 0)
            partner.customer_last_review_id = last.get(commercial_partner, Review)

    def _search_customer_profile_id(self, operator, value):
        return self._search_profile_field(operator, value, "id")

    def _search_profile_field(self, operator, value, field):
        profiles = self.env["customer.profile"]._search(
            [("company_id", "=", self.env.company.id), (field, operator, value)]
        )
        return [("id", "in", profiles.subselect("partner_id"))]

    def _search_customer_tier_pending_since(self, operator, value):
        return self._search_profile_field(operator, value, "pending_downgrade_since")

    def _search_customer_tier_overridden(self, operator, value):
        return self._search_profile_field(operator, value, "override_active")

    def _search_customer_health_score(self, operator, value):
        return self._search_profile_field(operator, value, "health_score")

    def _search_customer_health_trend(self, operator, value):
        return self._search_profile_field(operator, value, "health_trend")

    def _search_customer_next_touch_date(self, operator, value):
        return self._search_profile_field(operator, value, "next_touch_date")

    def write(self, vals):
        res = super().write(vals)
        if "customer_strategic" in vals:
            # Strategic importance is a tier criterion: re-evaluate at once.
            self.env["customer.profile"]._refresh_partners(
                self.filtered("is_company") | self.commercial_partner_id
            )
        return res

    def action_view_customer_tier_history(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "customer_tiering.action_customer_tier_history"
        )
        action["domain"] = [
            ("partner_id", "=", self.commercial_partner_id.id),
            ("company_id", "=", self.env.company.id),
        ]
        action["context"] = {"create": False}
        return action

    def action_customer_tier_override(self):
        self.ensure_one()
        self.env["customer.profile"]._check_manager()
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Override Customer Tier"),
            "res_model": "customer.tier.override.wizard",
            "view_mode": "form",
            "target": "new",
            "context": {"default_partner_id": self.commercial_partner_id.id},
        }

    def action_customer_tier_clear_override(self):
        self.env["customer.profile"]._check_manager()
        profiles = self.customer_profile_id.filtered("override_tier_id")
        today = fields.Date.context_today(self)
        # An override ended yesterday: the next evaluation applies the computed
        # tier at once (no grace period) and records "override ended".
        profiles.write({"override_until": fields.Date.subtract(today, days=1)})
        profiles._refresh(today=today)
        return True

    def action_customer_tier_refresh(self):
        self.env["customer.profile"]._check_manager()
        self.env["customer.profile"]._refresh_partners(self)
        return True

    def action_view_customer_health_history(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "customer_tiering.action_customer_health_snapshot"
        )
        action["domain"] = [
            ("partner_id", "=", self.commercial_partner_id.id),
            ("company_id", "=", self.env.company.id),
        ]
        action["context"] = {"graph_groupbys": ["date:day"], "create": False}
        action["views"] = [(False, "graph"), (False, "list")]
        return action

    def action_view_customer_reviews(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "customer_tiering.action_customer_account_review"
        )
        action["domain"] = [("partner_id", "=", self.commercial_partner_id.id)]
        action["context"] = {"default_partner_id": self.commercial_partner_id.id}
        return action

    def action_customer_account_review(self):
        """A new account review of this customer, in a dialog."""
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Account Review"),
            "res_model": "customer.account.review",
            "view_mode": "form",
            "views": [(False, "form")],
            "target": "new",
            "context": {"default_partner_id": self.commercial_partner_id.id},
        }
