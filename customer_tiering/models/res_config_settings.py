# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import api, fields, models


class ResConfigSettings(models.TransientModel):
    _inherit = "res.config.settings"

    customer_tiering_basis = fields.Selection(
        related="company_id.customer_tiering_basis", readonly=False
    )
    customer_tiering_window_months = fields.Integer(
        related="company_id.customer_tiering_window_months", readonly=False
    )
    customer_tiering_frequency_months = fields.Integer(
        related="company_id.customer_tiering_frequency_months", readonly=False
    )
    customer_tiering_grace_days = fields.Integer(
        related="company_id.customer_tiering_grace_days", readonly=False
    )
    customer_tiering_run_start = fields.Datetime(
        related="company_id.customer_tiering_run_start"
    )
    customer_tiering_tz = fields.Selection(
        related="company_id.customer_tiering_tz", readonly=False
    )
    customer_tiering_excluded_orders = fields.Integer(
        string="Orders Left Out of the Figures",
        compute="_compute_customer_tiering_excluded",
    )
    customer_tiering_excluded_customers = fields.Integer(
        string="Customers with Orders Left Out",
        compute="_compute_customer_tiering_excluded",
    )
    customer_health_healthy_min = fields.Float(
        related="company_id.customer_health_healthy_min", readonly=False
    )
    customer_health_watch_min = fields.Float(
        related="company_id.customer_health_watch_min", readonly=False
    )
    customer_health_drop_points = fields.Float(
        related="company_id.customer_health_drop_points", readonly=False
    )
    customer_health_review_max_age = fields.Integer(
        related="company_id.customer_health_review_max_age", readonly=False
    )
    customer_health_user_id = fields.Many2one(
        related="company_id.customer_health_user_id", readonly=False
    )
    customer_plan_default_user_id = fields.Many2one(
        related="company_id.customer_plan_default_user_id", readonly=False
    )
    customer_tiering_failed_count = fields.Integer(
        string="Customers Failed",
        compute="_compute_customer_tiering_failed_count",
        help="Customers of this company whose last refresh or follow-up "
        "scheduling failed (they were skipped).",
        groups="customer_tiering.group_customer_tiering_manager",
    )

    customer_health_backtest_id = fields.Many2one(
        "customer.health.backtest",
        string="Latest Backtest",
        compute="_compute_customer_health_backtest",
        groups="customer_tiering.group_customer_tiering_manager",
        help="The latest finished backtest of the live scorecard.",
    )
    customer_health_backtest_precision = fields.Float(
        related="customer_health_backtest_id.precision",
        groups="customer_tiering.group_customer_tiering_manager",
    )
    customer_health_backtest_recall = fields.Float(
        related="customer_health_backtest_id.recall",
        groups="customer_tiering.group_customer_tiering_manager",
    )
    customer_health_backtest_lead_time = fields.Float(
        related="customer_health_backtest_id.lead_time_days",
        groups="customer_tiering.group_customer_tiering_manager",
    )

    @api.depends("company_id")
    def _compute_customer_health_backtest(self):
        Backtest = self.env["customer.health.backtest"]
        for settings in self:
            settings.customer_health_backtest_id = Backtest.search(
                [
                    ("company_id", "=", settings.company_id.id),
                    ("scorecard", "=", "live"),
                    ("state", "=", "done"),
                ],
                order="write_date desc, id desc",
                limit=1,
            )

    def action_customer_health_open_backtests(self):
        return self.env["ir.actions.act_window"]._for_xml_id(
            "customer_tiering.action_customer_health_backtest"
        )

    @api.depends("company_id")
    def _compute_customer_tiering_failed_count(self):
        Profile = self.env["customer.profile"]
        for settings in self:
            settings.customer_tiering_failed_count = Profile.search_count(
                [
                    ("company_id", "=", settings.company_id.id),
                    ("refresh_error", "!=", False),
                ]
            )

    # Changing a setting writes the company, which requests a full refresh
    # (res.company.write): settings and direct writes behave alike.

    @api.depends("company_id")
    def _compute_customer_tiering_excluded(self):
        """Orders left out of the company's figures at the last evaluation
        (a currency without rate at their date), and their customers."""
        Profile = self.env["customer.profile"]
        for settings in self:
            # sudo: a count over the company's profiles for its managers
            # (the block is for tiering managers), whatever the record rules.
            groups = Profile.sudo()._read_group(
                [
                    ("company_id", "=", settings.company_id.id),
                    ("excluded_order_count", ">", 0),
                ],
                aggregates=["excluded_order_count:sum", "__count"],
            )
            orders, customers = groups[0] if groups else (0, 0)
            settings.customer_tiering_excluded_orders = orders or 0
            settings.customer_tiering_excluded_customers = customers

    def action_customer_tiering_open_excluded(self):
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "customer_tiering.action_customer_profile"
        )
        action["domain"] = [
            ("company_id", "=", self.company_id.id),
            ("excluded_order_count", ">", 0),
        ]
        action["context"] = {}
        return action

    def action_customer_tiering_refresh(self):
        """Settings' "Refresh now": re-evaluate this company's customers at once."""
        self.env["customer.profile"]._check_manager()
        self.env["customer.tier"]._check_usable_ladder(self.company_id)
        self.env["customer.profile"]._request_full_refresh(
            reason="manual", companies=self.company_id
        )
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "type": "info",
                "message": self.env._(
                    "The customer refresh has started; tiers update batch by batch "
                    "within minutes."
                ),
                "next": {"type": "ir.actions.act_window_close"},
            },
        }

    def action_customer_tiering_open_failed(self):
        """The Key Accounts of this company whose last refresh failed."""
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "customer_tiering.action_customer_profile"
        )
        action["domain"] = [("company_id", "=", self.company_id.id)]
        action["context"] = {"search_default_refresh_failed": 1}
        return action

    def action_customer_tiering_open_plans(self):
        return self.env["ir.actions.act_window"]._for_xml_id(
            "customer_tiering.action_customer_maintenance_plan"
        )

    def action_customer_tiering_open_ladder(self):
        return self.env["ir.actions.act_window"]._for_xml_id(
            "customer_tiering.action_customer_tier"
        )

    def action_customer_health_open_scorecard(self):
        self.env["customer.health.dimension"]._ensure_scorecards(self.company_id)
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "customer_tiering.action_customer_health_dimension"
        )
        action["domain"] = [("company_id", "=", self.company_id.id)]
        return action
