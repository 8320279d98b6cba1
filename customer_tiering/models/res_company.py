# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import api, fields, models
from odoo.exceptions import ValidationError

from ..engine import health
from odoo.addons.base.models.res_partner import _tz_get

# Changing one of these re-evaluates every customer of the company.
TIERING_SETTINGS = (
    "customer_tiering_basis",
    "customer_tiering_window_months",
    "customer_tiering_frequency_months",
    "customer_tiering_grace_days",
    "customer_health_healthy_min",
    "customer_health_watch_min",
    "customer_health_review_max_age",
    "customer_tiering_tz",
)

RUN_REASONS = [
    ("scheduled", "Scheduled"),
    ("config", "Configuration change"),
    ("manual", "Manual"),
    ("install", "Installation"),
    ("upgrade", "Upgrade"),
]


class ResCompany(models.Model):
    _inherit = "res.company"

    # Settings, not assessments: every internal user's sale or invoice reads
    # them (the refresh hooks); portal and public users read none of them.

    customer_tiering_basis = fields.Selection(
        [("sale", "Confirmed sales orders"), ("invoice", "Posted invoices")],
        string="Revenue Basis",
        default="sale",
        required=True,
        groups="base.group_user",
    )
    customer_tiering_window_months = fields.Integer(
        string="Revenue Window (months)",
        default=12,
        required=True,
        groups="base.group_user",
    )
    customer_tiering_frequency_months = fields.Integer(
        string="Order Frequency Window (months)",
        default=6,
        required=True,
        groups="base.group_user",
    )
    customer_tiering_grace_days = fields.Integer(
        string="Downgrade Grace Period (days)",
        default=30,
        required=True,
        groups="base.group_user",
    )
    customer_tiering_tz = fields.Selection(
        _tz_get,
        string="Tiering Time Zone",
        compute="_compute_customer_tiering_tz",
        store=True,
        readonly=False,
        help="The time zone of the company's days for the figures: which day "
        "is today, and on which day each order falls (revenue windows, last "
        "order), whoever or whatever triggers the evaluation.",
        groups="base.group_user",
    )
    customer_tiering_run_start = fields.Datetime(
        string="Tier Refresh Under Way Since", copy=False, groups="base.group_user"
    )
    customer_tiering_run_id = fields.Integer(
        string="Tier Refresh Run",
        copy=False,
        help="Number of the current or last full refresh; profiles evaluated "
        "by an earlier run are still to do.",
        groups="base.group_user",
    )
    customer_tiering_run_reason = fields.Selection(
        RUN_REASONS, string="Tier Refresh Reason", copy=False, groups="base.group_user"
    )
    customer_health_healthy_min = fields.Float(
        string="Healthy From", default=70.0, required=True, groups="base.group_user"
    )
    customer_health_watch_min = fields.Float(
        string="Watch From", default=40.0, required=True, groups="base.group_user"
    )
    customer_health_drop_points = fields.Float(
        string="Warning Drop (points)",
        default=15.0,
        required=True,
        help="A customer whose score falls by at least this many points within "
        "30 days gets a health-risk follow-up.",
        groups="base.group_user",
    )
    customer_health_review_max_age = fields.Integer(
        string="Account Review Validity (days)",
        default=180,
        required=True,
        help="Older account reviews no longer count in the health score.",
        groups="base.group_user",
    )
    customer_health_user_id = fields.Many2one(
        "res.users",
        string="Default Health Follow-up User",
        domain="[('share', '=', False)]",
        help="Responsible for health-risk follow-ups of customers without a "
        "salesperson or sales team leader.",
        groups="base.group_user",
    )

    customer_plan_default_user_id = fields.Many2one(
        "res.users",
        string="Default Follow-up Owner",
        domain="[('share', '=', False)]",
        help="Gets the plan follow-ups whose owner and sales team leader are "
        "missing or archived.",
        groups="base.group_user",
    )

    @api.depends("partner_id")
    def _compute_customer_tiering_tz(self):
        """The company's address's time zone, else the administrator's, else
        UTC; kept once set (a manager changes it in Settings)."""
        admin = self.env.ref("base.user_admin", raise_if_not_found=False)
        # sudo: the administrator's time zone, whoever creates the company.
        fallback = (admin and admin.sudo().tz) or "UTC"
        for company in self:
            company.customer_tiering_tz = (
                company.customer_tiering_tz or company.partner_id.tz or fallback
            )

    def _customer_tiering_tz_name(self):
        """The time zone of this company's figures (see customer_tiering_tz)."""
        self.ensure_one()
        return self.customer_tiering_tz or "UTC"

    def _customer_tiering_today(self):
        """Today in this company's tiering time zone: the day every
        evaluation (nightly, order hooks, wizard, report) computes for."""
        return self._customer_tiering_date()

    def _customer_tiering_date(self, timestamp=None):
        """The day of ``timestamp`` (a UTC datetime; default now) in this
        company's tiering time zone."""
        return fields.Date.context_today(
            self.with_context(tz=self._customer_tiering_tz_name()), timestamp
        )

    @api.model_create_multi
    def create(self, vals_list):
        companies = super().create(vals_list)
        self.env["customer.health.dimension"]._ensure_scorecards(companies)
        return companies

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

    @api.constrains(
        "customer_health_healthy_min",
        "customer_health_watch_min",
        "customer_health_drop_points",
        "customer_health_review_max_age",
    )
    def _check_customer_health_settings(self):
        for company in self:
            try:
                health.band(
                    None,
                    company.customer_health_healthy_min,
                    company.customer_health_watch_min,
                )
            except ValueError as error:
                raise ValidationError(
                    self.env._(
                        "Health bands need 0 <= watch threshold < healthy "
                        "threshold <= 100."
                    )
                ) from error
            if company.customer_health_drop_points <= 0:
                raise ValidationError(
                    self.env._("The warning drop must be a positive number of points.")
                )
            if company.customer_health_review_max_age < 1:
                raise ValidationError(
                    self.env._("Account reviews must count for at least one day.")
                )
