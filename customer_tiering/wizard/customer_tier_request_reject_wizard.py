# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import fields, models


class CustomerTierRequestRejectWizard(models.TransientModel):
    """Asks the manager why a tier review request is rejected."""

    _name = "customer.tier.request.reject.wizard"
    _description = "Reject Tier Review Request"

    request_ids = fields.Many2many(
        "customer.tier.request", string="Requests", required=True
    )
    reason = fields.Text(
        required=True, help="Sent to the requester with the rejection."
    )

    def action_reject(self):
        self.ensure_one()
        self.request_ids._reject(self.reason)
        return {"type": "ir.actions.act_window_close"}
