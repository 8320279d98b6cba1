# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""18.0.1.2.0 registers new health dimensions (engine/health.py,
``DIMENSIONS``): every company that has a scorecard gets each one it lacks,
switched off with weight 0, so that no score moves until a manager turns it
on; each addition is logged at INFO.  A later version that registers a
dimension calls the same step from its own post-migrate script."""

from odoo import SUPERUSER_ID, api


def migrate(cr, version):
    if not version:
        return
    env = api.Environment(cr, SUPERUSER_ID, {})
    env["customer.health.dimension"]._add_registered_dimensions()
