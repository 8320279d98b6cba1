# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Indexes this addon adds to other modules' tables for its aggregates.

The refresh reads, per batch of customers, their confirmed orders and their
posted customer invoices.  These partial covering indexes hold exactly the
rows and columns those aggregates need, so PostgreSQL answers them from the
index alone (index-only scans) instead of visiting the wide tables.  Odoo does
not drop indexes on other modules' tables at uninstall: ``hooks.py`` does.
"""

from odoo.tools import SQL
from odoo.tools.sql import index_exists

INDEXES = {
    # customer.profile._metrics_query (orders), the confirm hook included.
    "sale_order_customer_tiering_idx": SQL(
        """
        ON sale_order (partner_id, company_id, date_order)
           INCLUDE (amount_untaxed, currency_rate, currency_id)
        WHERE state = 'sale'
        """
    ),
    # customer.profile._health_payments and _metrics_query (invoices).
    "account_move_customer_tiering_idx": SQL(
        """
        ON account_move (commercial_partner_id, company_id)
           INCLUDE (move_type, invoice_date, invoice_date_due,
                    amount_residual_signed, amount_untaxed_signed,
                    currency_id, date)
        WHERE state = 'posted' AND move_type IN ('out_invoice', 'out_refund')
        """
    ),
}


def create_indexes(cr, *names):
    for name in names:
        if not index_exists(cr, name):
            cr.execute(SQL("CREATE INDEX %s %s", SQL.identifier(name), INDEXES[name]))


def drop_indexes(cr):
    for name in INDEXES:
        cr.execute(SQL("DROP INDEX IF EXISTS %s", SQL.identifier(name)))
