# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import api, fields, models

from .fault_isolation import attempt, is_conflict
from .sql_indexes import create_indexes

# Changing one of these on a confirmed order changes its customer's figures.
TIERING_FIELDS = {"partner_id", "date_order", "company_id", "state", "currency_rate"}
# Changing one of these on a line of a confirmed order changes its amount.
LINE_AMOUNT_FIELDS = {
    "product_uom_qty",
    "price_unit",
    "discount",
    "tax_id",
    "product_id",
    "price_subtotal",
}


class SaleOrder(models.Model):
    _inherit = "sale.order"

    customer_tier_id = fields.Many2one(
        "customer.tier",
        compute="_compute_customer_tier_id",
        help="Tier of the customer (its company) in the order's company.",
        groups="customer_tiering.group_customer_tiering_user",
    )
    customer_tier_color = fields.Integer(
        string="Tier Color",
        compute="_compute_customer_tier_id",
        groups="customer_tiering.group_customer_tiering_user",
    )

    def init(self):
        res = super().init()
        create_indexes(self.env.cr, "sale_order_customer_tiering_idx")
        return res

    @api.depends("partner_id", "company_id")
    def _compute_customer_tier_id(self):
        for order in self:
            partner = order.partner_id.commercial_partner_id.with_company(
                order.company_id or self.env.company
            )
            order.customer_tier_id = partner.customer_tier_id
            order.customer_tier_color = partner.customer_tier_id.color

    def _customer_tiering_refresh(self, partners=None):
        """Re-evaluate the customers of these orders, in this transaction."""
        for company, orders in self.grouped("company_id").items():
            self._customer_tiering_refresh_for(company, partners or orders.partner_id)

    @api.model
    def _customer_tiering_refresh_for(self, company, partners):
        """Re-evaluate ``partners``' companies in ``company`` after a user's
        action on their orders or invoices, in this transaction.

        The user's own action succeeded with the user's rights; this is the
        system's bookkeeping, all or nothing per customer: a customer that
        cannot be re-evaluated (a ladder without catch-all tier...) is logged
        and marked on its profile, and never blocks the sale or the invoice.
        The nightly refresh and the Settings' refresh button report it too.
        """
        if self.env.context.get("customer_tiering_skip") or not partners:
            return
        # sudo: the refresh writes profiles, tier history, partner fields and
        # plan follow-ups that the acting user (a salesperson on their own
        # documents, an accountant posting an invoice) may not write; the
        # user's own action was checked against their rights already.
        self.env["customer.profile"].sudo().with_company(
            company
        )._refresh_partners_isolated(partners)

    def _action_confirm(self):
        res = super()._action_confirm()
        if not self._customer_tiering_quick_refresh():
            self._customer_tiering_refresh()
        return res

    def _customer_tiering_quick_refresh(self):
        """The common case, one order confirmed in the UI: its customer is
        re-evaluated with the hook's smaller gather (its state and orders
        read, the other facts from its explanation of today: see
        ``customer.profile._refresh_after_confirm``).  False when the full
        gather must run instead (it also runs when the quick one fails:
        rolled back, it is retried and logged there)."""
        if len(self) != 1 or self.env.context.get("customer_tiering_skip"):
            return False
        # sudo: as in _customer_tiering_refresh_for, the system's bookkeeping
        # after the user's confirmation.
        Profile = self.env["customer.profile"].sudo().with_company(self.company_id)
        done, error = attempt(
            self.env.cr, Profile._refresh_after_confirm, self, tries=1
        )
        if error is not None and is_conflict(error):
            raise error  # Odoo retries the request in a new transaction
        return bool(done)

    def write(self, vals):
        # Covers cancellation too: _action_cancel writes state = 'cancel'.
        watched = TIERING_FIELDS & set(vals) and self.filtered(
            lambda o: o.state == "sale"
        )
        old_partners = watched and watched.partner_id
        res = super().write(vals)
        if watched:
            watched._customer_tiering_refresh(old_partners | watched.partner_id)
        return res

    def unlink(self):
        confirmed = self.filtered(lambda o: o.state == "sale")
        targets = [(o.company_id, o.partner_id) for o in confirmed]
        res = super().unlink()
        for company, partner in targets:
            self.browse()._customer_tiering_refresh_for(company, partner)
        return res


class SaleOrderLine(models.Model):
    _inherit = "sale.order.line"

    def _customer_tiering_confirmed_orders(self):
        return self.order_id.filtered(lambda o: o.state == "sale")

    @api.model_create_multi
    def create(self, vals_list):
        lines = super().create(vals_list)
        lines._customer_tiering_confirmed_orders()._customer_tiering_refresh()
        return lines

    def write(self, vals):
        res = super().write(vals)
        if LINE_AMOUNT_FIELDS & set(vals):
            self._customer_tiering_confirmed_orders()._customer_tiering_refresh()
        return res

    def unlink(self):
        orders = self._customer_tiering_confirmed_orders()
        res = super().unlink()
        orders.exists()._customer_tiering_refresh()
        return res
