# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.tools.sql import create_index

from ..engine import cadence

OUTCOMES = [
    ("positive", "Positive"),
    ("neutral", "Neutral"),
    ("negative", "Negative"),
]


class CustomerTouch(models.Model):
    """A planned touch that happened (or was missed or skipped).

    Recorded when a plan follow-up activity is marked done (or cancelled once
    due) and when a plan e-mail is sent (or skipped); the next touch of the
    line is due one interval after the last one, and compliance counts the
    touches done on time against those due.
    """

    _name = "customer.touch"
    _description = "Customer Touch"
    _order = "date desc, id desc"
    _rec_name = "summary"

    profile_id = fields.Many2one(
        "customer.profile", required=True, index=True, ondelete="cascade"
    )
    partner_id = fields.Many2one(
        "res.partner", string="Customer", required=True, index=True, ondelete="cascade"
    )
    company_id = fields.Many2one("res.company", required=True, index=True)
    tier_id = fields.Many2one(
        "customer.tier", ondelete="set null", help="The customer's tier at the time."
    )
    plan_id = fields.Many2one("customer.maintenance.plan", ondelete="set null")
    plan_line_id = fields.Many2one(
        "customer.maintenance.plan.line", string="Plan Touch", ondelete="set null"
    )
    activity_type_id = fields.Many2one(
        "mail.activity.type", string="Channel", ondelete="set null"
    )
    summary = fields.Char()
    date = fields.Date(
        required=True, help="When the touch was done, missed or skipped."
    )
    deadline = fields.Date(help="When the plan wanted it done.")
    user_id = fields.Many2one(
        "res.users", string="Owner", help="Who was to do the touch.", index=True
    )
    state = fields.Selection(
        [("done", "Done"), ("missed", "Missed"), ("skipped", "Skipped")],
        required=True,
        default="done",
        help="Missed: the follow-up was cancelled once due. Skipped: the "
        "automated e-mail could not be sent (no address, blacklisted).",
    )
    automated = fields.Boolean(
        default=False, help="An automated e-mail, left out of compliance."
    )
    outcome = fields.Selection(OUTCOMES, help="The customer's reaction.")
    note = fields.Text(help="What happened, why the customer reacted so, next step.")
    on_time = fields.Boolean(compute="_compute_on_time", store=True)

    @api.depends("state", "date", "deadline")
    def _compute_on_time(self):
        for touch in self:
            touch.on_time = bool(
                touch.state == "done"
                and touch.deadline
                and cadence.on_time(touch.deadline, touch.date)
            )

    def write(self, vals):
        if (
            set(vals) - {"outcome", "note"}
            and not self.env.su
            and not self.env.user.has_group(
                "customer_tiering.group_customer_tiering_manager"
            )
        ):
            raise UserError(
                self.env._("You can only change the outcome and note of a touch.")
            )
        return super().write(vals)

    def init(self):
        # The scheduler's "last touch per customer and plan line" lookup.
        create_index(
            self.env.cr,
            "customer_touch_profile_line_date_idx",
            self._table,
            ["profile_id", "plan_line_id", "date"],
        )
        # The refresh's plan compliance: touches due in a window per profile.
        create_index(
            self.env.cr,
            "customer_touch_profile_deadline_idx",
            self._table,
            ["profile_id", "deadline"],
        )
        # The refresh's touch feedback: touches done in a window per profile.
        create_index(
            self.env.cr,
            "customer_touch_profile_date_idx",
            self._table,
            ["profile_id", "date"],
        )
