# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""18.0.1.1.0 changes how figures are computed (orders without a currency
rate left out, what counts as an order, the company's time zone) and adds
the health score: ask the refresh cron to re-evaluate every customer at once
instead of leaving the stored figures stale until the next night."""

from odoo import SUPERUSER_ID, api


def migrate(cr, version):
    if not version:
        return
    env = api.Environment(cr, SUPERUSER_ID, {})
    env["customer.profile"]._request_full_refresh(reason="upgrade")
