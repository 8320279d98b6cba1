# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import api, fields, models, tools
from odoo.tools import SQL


class CustomerTierReviewReport(models.Model):
    """The brief's review figures, one row per tiering profile (customer and
    company), over confirmed sales orders of the last 24 months:

    - retention: of the customers who ordered in the 12 months before the
      last 12, those who ordered again in the last 12;
    - repurchase: of the customers who ordered in the last 12 months, those
      with 2 orders or more;
    - churned: ordered in the 12 months before, not in the last 12;
    - revenue (untaxed, company currency) of both periods, for the growth.

    The ``*_rate`` columns are 100, 0 or empty per customer: their average
    over any group (tier, salesperson...) is the group's rate in percent.

    A materialized view, refreshed when a full tiering run ends (nightly):
    at 100,000 customers and 1,000,000 orders its aggregate takes seconds,
    too long for every opening of the dashboard.
    """

    _name = "customer.tier.review.report"
    _description = "Customer Tier Review Figures"
    _auto = False
    _rec_name = "partner_id"
    _order = "revenue desc"

    partner_id = fields.Many2one("res.partner", string="Customer", readonly=True)
    company_id = fields.Many2one("res.company", readonly=True)
    currency_id = fields.Many2one(related="company_id.currency_id")
    tier_id = fields.Many2one("customer.tier", readonly=True)
    user_id = fields.Many2one("res.users", string="Salesperson", readonly=True)
    order_count = fields.Integer(string="Orders (12 months)", readonly=True)
    order_count_prev = fields.Integer(string="Orders (12 months before)", readonly=True)
    revenue = fields.Monetary(string="Revenue (12 months)", readonly=True)
    revenue_prev = fields.Monetary(string="Revenue (12 months before)", readonly=True)
    active_prev_count = fields.Integer(
        string="Active Before",
        readonly=True,
        help="1 when the customer ordered in the 12 months before the last 12.",
    )
    active_count = fields.Integer(
        string="Active",
        readonly=True,
        help="1 when the customer ordered in the last 12 months.",
    )
    retained_count = fields.Integer(string="Retained", readonly=True)
    churned_count = fields.Integer(string="Churned", readonly=True)
    repurchase_count = fields.Integer(string="Repurchasing", readonly=True)
    retention_rate = fields.Float(
        string="Retention (%)",
        aggregator="avg",
        readonly=True,
        help="100 for a customer active before who ordered again in the last 12 "
        "months, 0 for one who did not; empty for a customer not active before.",
    )
    repurchase_rate = fields.Float(
        string="Repurchase Rate (%)",
        aggregator="avg",
        readonly=True,
        help="100 for a customer with 2 orders or more in the last 12 months, "
        "0 for one with a single order; empty for a customer without order.",
    )

    def init(self):
        tools.drop_view_if_exists(self.env.cr, self._table)
        self.env.cr.execute(
            SQL(
                """
                CREATE MATERIALIZED VIEW %(view)s AS (
                WITH orders AS (
                    SELECT p.commercial_partner_id AS partner_id, so.company_id,
                           COUNT(*) FILTER (WHERE so.date_order >= %(start)s)
                               AS orders,
                           COUNT(*) FILTER (WHERE so.date_order < %(start)s)
                               AS orders_prev,
                           SUM(so.amount_untaxed / NULLIF(so.currency_rate, 0))
                               FILTER (WHERE so.date_order >= %(start)s) AS revenue,
                           SUM(so.amount_untaxed / NULLIF(so.currency_rate, 0))
                               FILTER (WHERE so.date_order < %(start)s)
                               AS revenue_prev
                      FROM sale_order so
                      JOIN res_partner p ON p.id = so.partner_id
                     WHERE so.state = 'sale' AND so.date_order >= %(prev_start)s
                       AND so.date_order < CURRENT_DATE + 1
                  GROUP BY p.commercial_partner_id, so.company_id
                )
                SELECT cp.id, cp.partner_id, cp.company_id, cp.tier_id,
                       rp.user_id,
                       COALESCE(o.orders, 0) AS order_count,
                       COALESCE(o.orders_prev, 0) AS order_count_prev,
                       COALESCE(o.revenue, 0) AS revenue,
                       COALESCE(o.revenue_prev, 0) AS revenue_prev,
                       (COALESCE(o.orders_prev, 0) > 0)::int AS active_prev_count,
                       (COALESCE(o.orders, 0) > 0)::int AS active_count,
                       (COALESCE(o.orders_prev, 0) > 0
                        AND COALESCE(o.orders, 0) > 0)::int AS retained_count,
                       (COALESCE(o.orders_prev, 0) > 0
                        AND COALESCE(o.orders, 0) = 0)::int AS churned_count,
                       (COALESCE(o.orders, 0) >= 2)::int AS repurchase_count,
                       CASE WHEN o.orders_prev > 0 THEN
                            CASE WHEN o.orders > 0 THEN 100.0 ELSE 0.0 END
                       END AS retention_rate,
                       CASE WHEN o.orders > 0 THEN
                            CASE WHEN o.orders >= 2 THEN 100.0 ELSE 0.0 END
                       END AS repurchase_rate
                  FROM customer_profile cp
                  JOIN res_partner rp ON rp.id = cp.partner_id
             LEFT JOIN orders o
                    ON o.partner_id = cp.partner_id AND o.company_id = cp.company_id
                )
                """,
                view=SQL.identifier(self._table),
                start=SQL("CURRENT_DATE - INTERVAL '12 months'"),
                prev_start=SQL("CURRENT_DATE - INTERVAL '24 months'"),
            )
        )
        # Unique: lets the refresh run CONCURRENTLY (readers are not blocked).
        self.env.cr.execute(
            SQL(
                "CREATE UNIQUE INDEX %s ON %s (id)",
                SQL.identifier(f"{self._table}_id_uniq"),
                SQL.identifier(self._table),
            )
        )

    @api.model
    def _request_figures(self):
        """A full tiering run is over: the figures follow in their own cron
        job (seconds at a million orders), not in the run's last batch."""
        cron = self.env.ref(
            "customer_tiering.ir_cron_review_figures", raise_if_not_found=False
        )
        if cron:
            # sudo: the run may end in a salesperson's request (a
            # configuration change), who cannot read ir.cron.
            cron.sudo()._trigger()

    @api.model
    def _refresh_figures(self):
        """Recompute the figures (their cron job, after a full tiering run)."""
        self.env.flush_all()
        self.env.cr.execute(
            SQL(
                "REFRESH MATERIALIZED VIEW CONCURRENTLY %s",
                SQL.identifier(self._table),
            )
        )
        self.invalidate_model()
