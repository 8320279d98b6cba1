# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from collections import defaultdict

from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError

from ..engine import cadence
from .customer_health_snapshot import BANDS

# Every field this addon adds to Odoo's models is for Customer Tiering users
# only: portal users and internal users without Sales rights read none of it.
USER_GROUP = "customer_tiering.group_customer_tiering_user"
MANAGER_GROUP = "customer_tiering.group_customer_tiering_manager"
# Fields read from the customer's profile: computed as the current user, so
# that the profile's record rules apply (a salesperson who may not read the
# profile gets empty values, never another customer's figures), and cached
# per user and company.
PROFILE = {
    "groups": USER_GROUP,
    "related_sudo": False,
    "depends_context": ("company", "uid"),
}


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
        groups=USER_GROUP,
    )
    customer_strategic = fields.Boolean(
        string="Strategic Account",
        tracking=True,
        help="A judgement of the account team: industry leader, reference "
        "customer... Tiers can require it.",
        groups=USER_GROUP,
    )
    customer_profile_id = fields.Many2one(
        "customer.profile",
        string="Tiering Profile",
        compute="_compute_customer_profile_id",
        search="_search_customer_profile_id",
        groups=USER_GROUP,
    )
    customer_profile_ids = fields.One2many(
        "customer.profile", "partner_id", string="Tiering Profiles", groups=USER_GROUP
    )
    customer_tier_color = fields.Integer(
        string="Tier Color", related="customer_tier_id.color", groups=USER_GROUP
    )
    # A contact shows its company's tier (read as the current user).
    customer_company_tier_id = fields.Many2one(
        string="Company Tier",
        related="commercial_partner_id.customer_tier_id",
        groups=USER_GROUP,
        related_sudo=False,
    )
    customer_company_tier_color = fields.Integer(
        string="Company Tier Color",
        related="commercial_partner_id.customer_tier_id.color",
        groups=USER_GROUP,
        related_sudo=False,
    )
    customer_computed_tier_id = fields.Many2one(
        related="customer_profile_id.computed_tier_id", **PROFILE
    )
    customer_tier_pending_since = fields.Date(
        string="Downgrade Pending Since",
        related="customer_profile_id.pending_downgrade_since",
        search="_search_customer_tier_pending_since",
        **PROFILE,
    )
    customer_tier_overridden = fields.Boolean(
        string="Tier Overridden",
        related="customer_profile_id.override_active",
        search="_search_customer_tier_overridden",
        **PROFILE,
    )
    customer_override_reason = fields.Text(
        related="customer_profile_id.override_reason", **PROFILE
    )
    customer_override_until = fields.Date(
        related="customer_profile_id.override_until", **PROFILE
    )
    customer_override_user_id = fields.Many2one(
        related="customer_profile_id.override_user_id", **PROFILE
    )
    customer_currency_id = fields.Many2one(
        string="Tiering Currency", related="customer_profile_id.currency_id", **PROFILE
    )
    customer_revenue = fields.Monetary(
        related="customer_profile_id.revenue",
        currency_field="customer_currency_id",
        **PROFILE,
    )
    customer_revenue_prev = fields.Monetary(
        related="customer_profile_id.revenue_prev",
        currency_field="customer_currency_id",
        **PROFILE,
    )
    customer_growth = fields.Float(related="customer_profile_id.growth", **PROFILE)
    customer_order_count = fields.Integer(
        related="customer_profile_id.order_count", **PROFILE
    )
    customer_lifetime_revenue = fields.Monetary(
        related="customer_profile_id.lifetime_revenue",
        currency_field="customer_currency_id",
        **PROFILE,
    )
    customer_last_order_date = fields.Date(
        related="customer_profile_id.last_order_date", **PROFILE
    )
    customer_excluded_order_count = fields.Integer(
        string="Orders Left Out",
        related="customer_profile_id.excluded_order_count",
        **PROFILE,
    )
    customer_evaluated_at = fields.Datetime(
        related="customer_profile_id.evaluated_at", **PROFILE
    )
    customer_tier_history_count = fields.Integer(
        compute="_compute_customer_tier_history_count", groups=USER_GROUP
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
        **PROFILE,
    )
    customer_health_band = fields.Selection(
        BANDS, string="Health", company_dependent=True, readonly=True, groups=USER_GROUP
    )
    customer_health_trend = fields.Float(
        string="Health Trend",
        related="customer_profile_id.health_trend",
        search="_search_customer_health_trend",
        help="Score change against about 30 days earlier.",
        **PROFILE,
    )
    customer_health_reasons = fields.Html(
        related="customer_profile_id.health_reasons", **PROFILE
    )
    customer_health_breakdown = fields.Html(
        related="customer_profile_id.health_breakdown", **PROFILE
    )
    customer_health_snapshot_count = fields.Integer(
        compute="_compute_customer_health_counts", groups=USER_GROUP
    )
    customer_review_count = fields.Integer(
        compute="_compute_customer_health_counts", groups=USER_GROUP
    )
    customer_last_review_id = fields.Many2one(
        "customer.account.review",
        string="Last Account Review",
        compute="_compute_customer_health_counts",
        groups=USER_GROUP,
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
        groups=USER_GROUP,
    )
    customer_plan_id = fields.Many2one(related="customer_profile_id.plan_id", **PROFILE)
    customer_pinned_plan_id = fields.Many2one(
        related="customer_profile_id.pinned_plan_id", readonly=False, **PROFILE
    )
    customer_next_touch_date = fields.Date(
        string="Next Touch",
        related="customer_profile_id.next_touch_date",
        search="_search_customer_next_touch_date",
        **PROFILE,
    )
    customer_plan_compliance = fields.Float(
        related="customer_profile_id.plan_compliance", **PROFILE
    )
    customer_touches_due = fields.Integer(
        related="customer_profile_id.touches_due", **PROFILE
    )
    customer_touches_on_time = fields.Integer(
        related="customer_profile_id.touches_on_time", **PROFILE
    )
    # Searched as the current user (not related, which reads as superuser):
    # a salesperson sees the follow-ups and touches they may read.
    customer_followup_ids = fields.Many2many(
        "mail.activity",
        string="Planned Follow-ups",
        compute="_compute_customer_plan_records",
        groups=USER_GROUP,
    )
    customer_touch_ids = fields.Many2many(
        "customer.touch",
        string="Touches",
        compute="_compute_customer_plan_records",
        groups=USER_GROUP,
    )
    # Key moments: searched as the current user too (their record rules).
    customer_key_moment_ids = fields.Many2many(
        "customer.key.moment",
        string="Key Moments",
        compute="_compute_customer_key_moments",
        groups=USER_GROUP,
    )
    customer_next_key_moment_id = fields.Many2one(
        "customer.key.moment",
        string="Coming Key Moment",
        compute="_compute_customer_key_moments",
        help="The next key moment of the customer not yet settled: until it, "
        "from its window on, the follow-ups come at the plan's faster rhythm.",
        groups=USER_GROUP,
    )

    @api.depends_context("company", "uid")
    @api.depends("customer_profile_ids")
    def _compute_customer_profile_id(self):
        # As the current user (not compute_sudo): the profile's record rules
        # decide whether this partner shows its figures.
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

    @api.depends_context("company", "uid")
    def _compute_customer_key_moments(self):
        today = self.env.company._customer_tiering_today()
        moments = self.env["customer.key.moment"].search(
            [
                ("partner_id", "in", self.commercial_partner_id.ids),
                ("company_id", "=", self.env.company.id),
            ]
        )
        Moment = self.env["customer.key.moment"]
        for partner in self:
            mine = moments.filtered(
                lambda m, p=partner.commercial_partner_id: m.partner_id == p
            )
            partner.customer_key_moment_ids = mine
            coming = cadence.coming_key_moment(
                [m._window() for m in mine if not m.done], today
            )
            partner.customer_next_key_moment_id = (
                Moment.browse(coming.moment_id) if coming else Moment
            )

    @api.depends_context("company", "uid")
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

    @api.depends_context("company", "uid")
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

    @api.model_create_multi
    def create(self, vals_list):
        if any(vals.get("customer_strategic") for vals in vals_list):
            self.browse()._check_customer_strategic_rights()
        return super().create(vals_list)

    def write(self, vals):
        if "customer_pinned_plan_id" in vals:
            # The profile is written as the user (related_sudo=False), and a
            # profile the user may not read is no profile at all: without
            # this, pinning a plan on such a customer would do nothing, quietly.
            self.env["customer.profile"].check_access("write")
        if "customer_strategic" in vals and self.filtered(
            lambda p: p.customer_strategic != bool(vals["customer_strategic"])
        ):
            self._check_customer_strategic_rights()
        partners = self
        if "active" in vals and not vals["active"]:
            # Archiving removes the customer's activities (mail.activity.mixin):
            # its plan follow-ups are withdrawn, not missed touches.
            partners = self.with_context(customer_touch_recorded=True)
        res = super(ResPartner, partners).write(vals)
        if "customer_strategic" in vals:
            # Strategic importance is a tier criterion: re-evaluate at once
            # (the history records the flag as the cause of the move).
            self.env["customer.profile"]._refresh_partners(
                self.filtered("is_company") | self.commercial_partner_id,
                cause="strategic",
            )
        return res

    @api.ondelete(at_uninstall=False)
    def _unlink_except_customer_audit_trail(self):
        """A customer with a tier history, health snapshots or touches is
        archived, not deleted: the database would delete that audit trail with
        it.  (Merging it into another customer moves the trail first.)"""
        audited = self.env["customer.profile"]._audited_partner_ids(
            partner_ids=self.ids
        )
        if audited:
            raise UserError(
                self.env._(
                    "%(customers)s has a customer tier history, health snapshots "
                    "or touches: archive the contact instead of deleting it, or "
                    "merge it into another contact to move them there.",
                    customers=", ".join(self.browse(audited).mapped("display_name")),
                )
            )

    def toggle_active(self):
        # Archiving removes the customer's activities (mail.activity.mixin,
        # here and in write): plan follow-ups withdrawn are no missed touches.
        return super(
            ResPartner, self.with_context(customer_touch_recorded=True)
        ).toggle_active()

    def _check_customer_strategic_rights(self):
        """Only Customer Tiering managers mark accounts strategic: the flag
        can move a customer up the ladder."""
        if not self.env.su and not self.env.user.has_group(MANAGER_GROUP):
            raise AccessError(
                self.env._(
                    "Only Customer Tiering managers can mark a customer as a "
                    "strategic account or remove the mark."
                )
            )

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
        return self.customer_profile_id.action_clear_override()

    def action_customer_tier_refresh(self):
        self.env["customer.profile"]._check_manager()
        self.env["customer.profile"]._refresh_partners(self)
        return True

    def _customer_note_langs(self, company=None):
        """``{partner id: language}`` of the notes the addon logs on these
        customers (the nightly jobs run as OdooBot, in English): the
        customer's language, else its commercial partner's, else that of
        ``company`` (default: the current one), else the context's."""
        # sudo: the languages only, whatever the current user may read.
        company_lang = (company or self.env.company).sudo().partner_id.lang
        fallback = company_lang or self.env.lang or "en_US"
        return {
            partner.id: partner.lang or partner.commercial_partner_id.lang or fallback
            for partner in self.sudo()
        }

    def action_view_customer_health_history(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "customer_tiering.action_customer_health_snapshot"
        )
        action["domain"] = [
            ("partner_id", "=", self.commercial_partner_id.id),
            ("company_id", "=", self.env.company.id),
        ]
        # The stored points only: no zero on the days without a snapshot.
        action["context"] = {
            "graph_groupbys": ["date:day"],
            "fill_temporal": False,
            "create": False,
        }
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

    def action_customer_key_moment(self):
        """A new key moment of this customer, in a dialog."""
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Record Key Moment"),
            "res_model": "customer.key.moment",
            "view_mode": "form",
            "views": [(False, "form")],
            "target": "new",
            "context": {"default_partner_id": self.commercial_partner_id.id},
        }

    def action_view_customer_key_moments(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "customer_tiering.action_customer_key_moment"
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
