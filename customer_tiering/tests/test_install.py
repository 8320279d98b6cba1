# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import json
from datetime import date
from decimal import Decimal

from odoo.tests import TransactionCase, new_test_user, tagged
from odoo.tools import SQL

from ..models.sql_arrays import array_literal


@tagged("post_install", "-at_install")
class TestInstall(TransactionCase):
    def test_groups_and_implications(self):
        user_group = self.env.ref("customer_tiering.group_customer_tiering_user")
        manager_group = self.env.ref("customer_tiering.group_customer_tiering_manager")
        self.assertIn(user_group, manager_group.implied_ids)
        salesman = new_test_user(
            self.env, login="ct_inst_sales", groups="sales_team.group_sale_salesman"
        )
        self.assertTrue(
            salesman.has_group("customer_tiering.group_customer_tiering_user")
        )
        self.assertFalse(
            salesman.has_group("customer_tiering.group_customer_tiering_manager")
        )
        sales_admin = new_test_user(
            self.env, login="ct_inst_admin", groups="sales_team.group_sale_manager"
        )
        self.assertTrue(
            sales_admin.has_group("customer_tiering.group_customer_tiering_manager")
        )
        portal = new_test_user(
            self.env, login="ct_inst_portal", groups="base.group_portal"
        )
        self.assertFalse(
            portal.has_group("customer_tiering.group_customer_tiering_user")
        )

    def test_default_ladder(self):
        tiers = self.env["customer.tier"].search(
            [("company_id", "=", False)], order="rank desc"
        )
        self.assertEqual(tiers.mapped("code"), ["S", "A", "B", "C"])
        self.assertEqual(
            tiers.mapped("min_revenue")[:3], [5_000_000.0, 1_000_000.0, 500_000.0]
        )
        self.assertEqual(
            tiers.filtered("is_catch_all"), self.env.ref("customer_tiering.tier_c")
        )
        self.assertEqual(tiers.mapped("response_days"), [1, 3, 7, 14])

    def test_crons_exist(self):
        cron = self.env.ref("customer_tiering.ir_cron_refresh")
        self.assertEqual(cron.model_id.model, "customer.profile")
        self.assertTrue(cron.active)

    def test_every_model_has_access_rules(self):
        models = self.env["ir.model"].search([("model", "like", "customer.%")])
        self.assertTrue(models)
        for model in models:
            self.assertTrue(model.access_ids, f"{model.model} has no access rule")
            portal = self.env.ref("base.group_portal")
            self.assertFalse(
                model.access_ids.filtered(
                    lambda a, p=portal: a.group_id == p or not a.group_id
                ),
                f"{model.model} is readable by portal or public users",
            )


@tagged("post_install", "-at_install")
class TestArrayLiterals(TransactionCase):
    """The batches' array parameters read back as the values sent."""

    def roundtrip(self, values, ctype):
        self.env.cr.execute(SQL("SELECT %s::%s[]", array_literal(values), SQL(ctype)))
        return self.env.cr.fetchone()[0]

    def test_values_come_back_unchanged(self):
        self.assertEqual(self.roundtrip([3, None, -7], "int4"), [3, None, -7])
        floats = [0.1, 1e-07, -2.5e20, 1 / 3]
        self.assertEqual(self.roundtrip(floats, "float8"), floats)
        # Odoo's cursor reads numeric as float.
        self.assertEqual(
            self.roundtrip([Decimal("12.345"), 2.5], "numeric"), [12.345, 2.5]
        )
        days = [date(2026, 1, 31), None]
        self.assertEqual(self.roundtrip(days, "date"), days)
        self.assertEqual(self.roundtrip([True, False], "bool"), [True, False])
        texts = ['say "hi"', "back\\slash", "{a,b}", "NULL", "", "中文 ok"]
        self.assertEqual(self.roundtrip(texts, "varchar"), texts)
        data = [json.dumps({"k": 'v "q" \\ 中'}), None]
        self.assertEqual(self.roundtrip(data, "jsonb"), [{"k": 'v "q" \\ 中'}, None])
        self.assertEqual(self.roundtrip([], "int4"), [])
