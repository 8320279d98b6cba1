# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import models

from .sql_indexes import create_indexes


class AccountMove(models.Model):
    _inherit = "account.move"

    def init(self):
        res = super().init()
        create_indexes(self.env.cr, "account_move_customer_tiering_idx")
        return res

    def _customer_tiering_refresh(self):
        """Re-evaluate the customers of these invoices in companies whose
        revenue basis is invoices (for the sales basis, orders drive it)."""
        moves = self.filtered(
            lambda m: (
                m.move_type in ("out_invoice", "out_refund")
                and m.company_id.customer_tiering_basis == "invoice"
            )
        )
        for company, company_moves in moves.grouped("company_id").items():
            company_moves.env["sale.order"]._customer_tiering_refresh_for(
                company, company_moves.commercial_partner_id
            )

    def _post(self, soft=True):
        posted = super()._post(soft=soft)
        posted._customer_tiering_refresh()
        return posted

    def button_draft(self):
        was_posted = self.filtered(lambda m: m.state == "posted")
        res = super().button_draft()
        was_posted._customer_tiering_refresh()
        return res
