# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo.tests import HttpCase, tagged


@tagged("post_install", "-at_install")
class TestTours(HttpCase):
    def test_manager_overrides_a_tier(self):
        partner = self.env.ref("customer_tiering.demo_partner_qinghe")
        self.assertEqual(
            partner.customer_tier_id, self.env.ref("customer_tiering.tier_c")
        )
        self.start_tour(
            f"/odoo/res.partner/{partner.id}",
            "customer_tiering_override_tour",
            login="admin",
        )
        self.assertEqual(
            partner.customer_tier_id, self.env.ref("customer_tiering.tier_b")
        )
        self.assertEqual(
            partner.customer_profile_id.override_reason, "Tour: key reference"
        )

    def test_salesperson_reviews_an_at_risk_customer(self):
        partner = self.env.ref("customer_tiering.demo_partner_tianfu")
        salesperson = self.env.ref("base.user_demo")
        self.assertEqual(partner.user_id, salesperson)
        self.assertEqual(partner.customer_health_band, "at_risk")
        before = partner.customer_health_score
        self.start_tour(
            f"/odoo/res.partner/{partner.id}",
            "customer_tiering_health_tour",
            login="demo",
        )
        partner.invalidate_recordset()
        self.assertEqual(partner.customer_health_band, "watch")
        self.assertGreater(partner.customer_health_score, before + 30)
        review = partner.customer_last_review_id
        self.assertEqual(review.user_id, salesperson)
        self.assertEqual(review.satisfaction, "5")
