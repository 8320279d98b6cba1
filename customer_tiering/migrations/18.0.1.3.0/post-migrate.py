# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""18.0.1.3.0 stores a shorter health explanation (the raw value of each
dimension, ranked again on display) with the facts that no order changes
(the sales-order hook evaluates from them): ask the refresh cron to
re-evaluate every customer at once.  Until it has, the previous explanations
still read (``refresh.raw_of``) and confirmed orders take the full gather."""

from odoo import SUPERUSER_ID, api


def migrate(cr, version):
    if not version:
        return
    env = api.Environment(cr, SUPERUSER_ID, {})
    env["customer.profile"]._request_full_refresh(reason="upgrade")
