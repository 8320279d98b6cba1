# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import fields, models
from odoo.tools import SQL

from .customer_touch import OUTCOMES


class CustomerPlanComplianceReport(models.Model):
    """Plan compliance: every planned touch that fell due, done or not.

    Touches (done, missed) and plan follow-ups still open past their deadline,
    automated e-mails aside.  The average of ``on_time_rate`` over any group
    (customer, tier, owner, month...) is its compliance in percent.
    """

    _name = "customer.plan.compliance.report"
    _description = "Plan Compliance Analysis"
    _auto = False
    _order = "deadline desc"
    _rec_name = "partner_id"

    partner_id = fields.Many2one("res.partner", string="Customer", readonly=True)
    company_id = fields.Many2one("res.company", readonly=True)
    tier_id = fields.Many2one("customer.tier", readonly=True)
    plan_id = fields.Many2one("customer.maintenance.plan", readonly=True)
    plan_line_id = fields.Many2one(
        "customer.maintenance.plan.line", string="Plan Touch", readonly=True
    )
    activity_type_id = fields.Many2one(
        "mail.activity.type", string="Channel", readonly=True
    )
    user_id = fields.Many2one("res.users", string="Owner", readonly=True)
    deadline = fields.Date(readonly=True)
    date = fields.Date(string="Done On", readonly=True)
    status = fields.Selection(
        [
            ("on_time", "Done on time"),
            ("late", "Done late"),
            ("missed", "Missed"),
            ("open", "Overdue, still open"),
        ],
        readonly=True,
    )
    outcome = fields.Selection(OUTCOMES, readonly=True)
    on_time_rate = fields.Float(
        string="Compliance (%)",
        aggregator="avg",
        readonly=True,
        help="100 for a touch done on time, 0 otherwise: averaged over a group "
        "it gives the group's compliance.",
    )
    touch_count = fields.Integer(string="Touches Due", readonly=True)

    @property
    def _table_query(self):
        return SQL(
            """
            SELECT t.id * 2 AS id, t.partner_id, t.company_id, t.tier_id,
                   t.plan_id, t.plan_line_id, t.activity_type_id, t.user_id,
                   t.deadline, t.date, t.outcome,
                   CASE WHEN t.on_time THEN 'on_time'
                        WHEN t.state = 'done' THEN 'late'
                        ELSE 'missed' END AS status,
                   CASE WHEN t.on_time THEN 100.0 ELSE 0.0 END AS on_time_rate,
                   1 AS touch_count
              FROM customer_touch t
             WHERE t.automated IS NOT TRUE AND t.deadline IS NOT NULL
         UNION ALL
            SELECT a.id * 2 + 1, p.partner_id, p.company_id, p.tier_id,
                   l.plan_id, l.id, a.activity_type_id, a.user_id,
                   a.date_deadline, NULL, NULL, 'open', 0.0, 1
              FROM mail_activity a
              JOIN customer_profile p ON p.id = a.customer_profile_id
              JOIN customer_maintenance_plan_line l ON l.id = a.customer_plan_line_id
             WHERE a.active AND a.date_deadline < CURRENT_DATE
            """
        )
