# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""18.0.1.1.0 changes how figures are computed (orders without a currency
rate left out, what counts as an order, the company's time zone): ask the
refresh cron to re-evaluate every customer at once, instead of leaving the
figures, tiers and health as the previous version stored them (or empty)
until the next nightly run."""

from odoo import SUPERUSER_ID, api

from odoo.addons.customer_tiering.models.sql_indexes import (
    INDEXES,
    create_indexes,
    drop_indexes,
)


def migrate(cr, version):
    if not version:
        return
    # The covering indexes now include the currency (and the invoice's
    # accounting date): the figures check its rate.  Odoo's init kept the old
    # ones (same names), so they are rebuilt here.
    drop_indexes(cr)
    create_indexes(cr, *INDEXES)
    env = api.Environment(cr, SUPERUSER_ID, {})
    env["customer.profile"]._request_full_refresh(reason="upgrade")
