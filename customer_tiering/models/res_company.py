# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import api, fields, models
from odoo.exceptions import ValidationError

# Changing one of these re-evaluates every customer of the company.
TIERING_SETTINGS = (
    "customer_tiering_basis",
    "customer_tiering_window_months",
    "customer_tiering_frequency_months",
    "customer_tiering_grace_days",
)

RUN_REASONS = [
    ("scheduled", "Scheduled"),
    ("config", "Configuration change"),
    ("manual", "Manual"),
    ("install", "Installation"),
]


class ResCompany(models.Model):
    _inherit = "res.company"

    customer_tiering_basis = fields.Selection(
        [("sale", "Confirmed sales orders"), ("invoice", "Posted invoices")],
        string="Revenue Basis",
        default="sale",
        required=True,
    )
    customer_tiering_window_months = fields.Integer(
        string="Revenue Window (months)", default=12, required=True
    )
    customer_tiering_frequency_months = fields.Integer(
        string="Order Frequency Window (months)", default=6, required=True
    )
    customer_tiering_grace_days = fields.Integer(
        string="Downgrade Grace Period (days)", default=30, required=True
    )
    customer_tiering_run_start = fields.Datetime(
        string="Tier Refresh Under Way Since", copy=False
    )
    customer_tiering_run_id = fields.Integer(
        string="Tier Refresh Run",
        copy=False,
        help="Number of the current or last full refresh; profiles evaluated "
        "by an earlier run are still to do.",
    )
    customer_tiering_run_reason = fields.Selection(RUN_REASONS, copy=False)
    customer_plan_default_user_id = fields.Many2one(
        "res.users",
        string="Default Follow-up Owner",
        domain="[('share', '=', False)]",
        help="Gets the plan follow-ups whose owner and sales team leader are "
        "missing or archived.",
    )

    def write(self, vals):
        changed = self.filtered(
            lambda c: any(
                name in vals and c[name] != vals[name] for name in TIERING_SETTINGS
            )
        )
        res = super().write(vals)
        if changed:
            self.env["customer.profile"]._request_full_refresh(
                reason="config", companies=changed
            )
        return res

    def _customer_tiering_start_run(self, reason):
        """Start a new full refresh: every profile is to be evaluated again."""
        now = fields.Datetime.now()
        for company in self:
            company.write(
                {
                    "customer_tiering_run_id": company.customer_tiering_run_id + 1,
                    "customer_tiering_run_start": now,
                    "customer_tiering_run_reason": reason,
                }
            )

    @api.constrains(
        "customer_tiering_window_months",
        "customer_tiering_frequency_months",
        "customer_tiering_grace_days",
    )
    def _check_customer_tiering_settings(self):
        for company in self:
            if not 1 <= company.customer_tiering_window_months <= 120:
                raise ValidationError(
                    self.env._("The revenue window must be between 1 and 120 months.")
                )
            if not 1 <= company.customer_tiering_frequency_months <= 120:
                raise ValidationError(
                    self.env._(
                        "The order frequency window must be between 1 and 120 months."
                    )
                )
            if company.customer_tiering_grace_days < 0:
                raise ValidationError(
                    self.env._("The downgrade grace period cannot be negative.")
                )
