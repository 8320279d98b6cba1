# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Issue 10, points 6 to 8: no figure silently wrong, upgrades refresh."""

import importlib.util
from pathlib import Path

from odoo.tests import tagged

from .common import TieringCase

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


def _migration(version, name):
    path = MIGRATIONS / version / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"ct_migration_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@tagged("post_install", "-at_install")
class TestUpgrade(TieringCase):
    def test_upgrade_requests_a_full_refresh(self):
        companies = self.env["res.company"].search([])
        companies.write({"customer_tiering_run_start": False})
        runs = {company.id: company.customer_tiering_run_id for company in companies}
        _migration("18.0.1.1.0", "post-migrate").migrate(self.env.cr, "18.0.1.0.0")
        companies.invalidate_recordset()
        for company in companies:
            self.assertTrue(company.customer_tiering_run_start)
            self.assertEqual(company.customer_tiering_run_reason, "upgrade")
            self.assertEqual(company.customer_tiering_run_id, runs[company.id] + 1)
        labels = dict(
            companies._fields["customer_tiering_run_reason"]._description_selection(
                self.env
            )
        )
        self.assertEqual(labels["upgrade"], "Upgrade")
