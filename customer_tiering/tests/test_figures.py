# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Issue 10, points 6 to 8: no figure silently wrong, upgrades refresh."""

import importlib.util
from pathlib import Path

from odoo import Command
from odoo.tests import tagged

from .. import hooks
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


@tagged("post_install", "-at_install")
class TestUninstallCleanup(TieringCase):
    def test_uninstall_removes_the_addons_activities(self):
        """What the uninstall hook removes before Odoo deletes the addon's
        data (tests/tools/uninstall.py checks the whole uninstall)."""
        review = self.env.ref("customer_tiering.mail_activity_type_business_review")
        call = self.env.ref("mail.mail_activity_data_call")
        other = self.env["res.partner"].create({"name": "Not a customer"})
        self.make_order(self.customer, 1000)
        profile = self.profile()
        Activity = self.env["mail.activity"]
        values = {
            "res_model_id": self.env["ir.model"]._get_id("res.partner"),
            "user_id": self.salesman.id,
        }
        planned = Activity.create(
            {**values, "res_id": self.customer.id, "activity_type_id": call.id}
        )
        planned.customer_profile_id = profile
        own_type = Activity.create(
            {**values, "res_id": other.id, "activity_type_id": review.id}
        )
        done = Activity.create(
            {**values, "res_id": other.id, "activity_type_id": review.id}
        )
        done.active = False
        unrelated = Activity.create(
            {**values, "res_id": other.id, "activity_type_id": call.id}
        )
        odoo_plan = self.env["mail.activity.plan"].create(
            {
                "name": "Odoo plan",
                "res_model": "res.partner",
                "template_ids": [
                    Command.create(
                        {
                            "summary": "Visit",
                            "activity_type_id": review.id,
                            "responsible_type": "on_demand",
                        }
                    )
                ],
            }
        )
        hooks._remove_followups(self.env)
        self.assertFalse((planned | own_type | done).exists())
        self.assertTrue(unrelated.exists())
        self.assertEqual(
            odoo_plan.template_ids.activity_type_id,
            self.env.ref("mail.mail_activity_data_todo"),
        )
