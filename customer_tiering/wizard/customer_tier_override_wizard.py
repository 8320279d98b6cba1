# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import api, fields, models
from odoo.exceptions import UserError


class CustomerTierOverrideWizard(models.TransientModel):
    """The seeds' appeal procedure: a manager sets a tier by hand, with a reason."""

    _name = "customer.tier.override.wizard"
    _description = "Override Customer Tier"

    partner_id = fields.Many2one(
        "res.partner", string="Customer", required=True, readonly=True
    )
    company_id = fields.Many2one(
        "res.company", required=True, default=lambda self: self.env.company
    )
    current_tier_id = fields.Many2one(
        "customer.tier", compute="_compute_current_tier_id"
    )
    tier_id = fields.Many2one(
        "customer.tier",
        string="New Tier",
        required=True,
        domain="[('company_id', 'in', [company_id, False])]",
    )
    reason = fields.Text(required=True)
    until = fields.Date(
        string="Ends On",
        help="After this date the computed tier applies again. Leave empty to "
        "keep the override until it is cleared.",
    )

    @api.depends("partner_id", "company_id")
    def _compute_current_tier_id(self):
        for wizard in self:
            wizard.current_tier_id = wizard.partner_id.with_company(
                wizard.company_id
            ).customer_tier_id

    def action_apply(self):
        self.ensure_one()
        Profile = self.env["customer.profile"]
        Profile._check_manager()
        if not (self.reason or "").strip():
            raise UserError(self.env._("Give the reason for the override."))
        today = self.company_id._customer_tiering_today()
        if self.until and self.until < today:
            raise UserError(self.env._("The override cannot end in the past."))
        if self.tier_id not in self.env["customer.tier"]._get_ladder(self.company_id):
            raise UserError(
                self.env._(
                    "Tier %(tier)s is not part of the ladder of %(company)s.",
                    tier=self.tier_id.name,
                    company=self.company_id.name,
                )
            )
        Profile = Profile.with_company(self.company_id)
        partner = self.partner_id.commercial_partner_id
        profile = Profile.browse(Profile._ensure_profiles(partner.ids, self.company_id))
        profile.write(
            {
                "override_tier_id": self.tier_id.id,
                "override_reason": self.reason.strip(),
                "override_until": self.until,
                "override_user_id": self.env.uid,
                "override_date": fields.Datetime.now(),
            }
        )
        history_before = len(profile.history_ids)
        profile._refresh(today=today)
        if len(profile.history_ids) == history_before:
            # The override confirms the tier the customer already carries (to
            # hold it against a downgrade, say): still an audited decision.
            self.env["customer.tier.history"].sudo().create(  # sudo: history
                # is system-written; managers only read and delete it.
                {
                    "profile_id": profile.id,
                    "partner_id": partner.id,
                    "company_id": self.company_id.id,
                    "from_tier_id": profile.tier_id.id,
                    "to_tier_id": profile.tier_id.id,
                    "cause": "override_set",
                    "reason": profile.override_reason,
                    "revenue": profile.revenue,
                    "growth": profile.growth,
                    "order_count": profile.order_count,
                    "lifetime_revenue": profile.lifetime_revenue,
                }
            )._post_chatter()
        return {"type": "ir.actions.act_window_close"}
