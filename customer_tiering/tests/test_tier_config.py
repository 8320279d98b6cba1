# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo.exceptions import UserError, ValidationError
from odoo.tests import tagged

from .common import TieringCase


@tagged("post_install", "-at_install")
class TestTierConfig(TieringCase):
    def test_bad_configuration_refused(self):
        Tier = self.env["customer.tier"]
        with self.assertRaises(ValidationError) as caught:
            Tier.create({"name": "Second catch-all", "code": "Z", "rank": 1})
        self.assertIn("catch-all", str(caught.exception))
        with self.assertRaises(ValidationError) as caught:
            self.tier_b.write({"min_revenue": -1})
        self.assertIn("negative", str(caught.exception))
        with self.assertRaises(ValidationError) as caught:
            self.tier_a.write({"use_min_growth": True, "min_growth": -150})
        self.assertIn("-100", str(caught.exception))
        with self.assertRaises(ValidationError) as caught:
            self.tier_b.write({"code": "A"})
        self.assertIn("unique", str(caught.exception))
        with self.assertRaises(ValidationError) as caught:
            self.tier_b.write({"rank": self.tier_a.rank})
        self.assertIn("rank", str(caught.exception))
        with self.assertRaises(ValidationError) as caught:
            self.tier_c.write({"rank": 100})
        self.assertIn("bottom", str(caught.exception))
        with self.assertRaises(ValidationError):
            self.company.customer_tiering_window_months = 0
        with self.assertRaises(ValidationError):
            self.company.customer_tiering_grace_days = -1

    def test_lifetime_ladder_by_configuration(self):
        """The seeds' second ladder: strategic > 10M, core 5-10M, growth 1-5M,
        opportunity below, on lifetime value; configured, not coded."""
        (self.tier_s | self.tier_a | self.tier_b | self.tier_c).write({"active": False})
        Tier = self.env["customer.tier"]
        opportunity = Tier.create({"name": "Opportunity", "code": "O", "rank": 1})
        ladder = Tier.create(
            [
                {
                    "name": name,
                    "code": code,
                    "rank": rank,
                    "use_min_lifetime": True,
                    "min_lifetime": amount,
                }
                for name, code, rank, amount in (
                    ("Strategic", "ST", 4, 10_000_000.01),
                    ("Core", "CO", 3, 5_000_000),
                    ("Growth", "GR", 2, 1_000_000),
                )
            ]
        )
        strategic, core, growth = ladder
        cases = (
            (800_000, opportunity),
            (1_000_000, growth),
            (5_000_000, core),
            (10_000_000, core),
            (10_000_001, strategic),
        )
        for i, (amount, expected) in enumerate(cases):
            customer = self.env["res.partner"].create(
                {"name": f"Lifetime customer {i}", "is_company": True}
            )
            # 3 years ago: outside any revenue window, only lifetime counts.
            self.make_order(customer, amount, days_ago=3 * 365)
            self.refresh(partner=customer)
            self.assertEqual(self.tier_of(customer), expected, f"lifetime {amount}")

    def test_growth_and_frequency_criteria(self):
        self.tier_a.write(
            {
                "use_min_growth": True,
                "min_growth": 10,
                "use_min_orders": True,
                "min_orders": 2,
            }
        )
        self.make_order(self.customer, 1_000_000, days_ago=400)
        self.make_order(self.customer, 1_050_000, days_ago=5)
        self.refresh()
        self.assertEqual(self.tier_of(), self.tier_b, "5 % growth, one order")
        self.make_order(self.customer, 100_000)
        self.assertEqual(self.tier_of(), self.tier_a, "15 % growth, two orders")

    def test_tier_in_use_cannot_be_deleted(self):
        self.make_order(self.customer, 100_000)
        with self.assertRaises(UserError):
            self.tier_c.unlink()
