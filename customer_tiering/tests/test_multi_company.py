# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from datetime import timedelta

from odoo import Command, fields
from odoo.tests import new_test_user, tagged

from .common import TieringCase

SECRET_REASON = "Secret pricing deal with their CEO"
SECRET_NOTES = "They are talking to our competitor"


@tagged("post_install", "-at_install")
class TestSharedCustomer(TieringCase):
    """A customer shared by companies A and B: what A decides about it, and
    why, stays in A."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company_a = cls.company
        cls.company_b = cls.env["res.company"].create({"name": "Tiering Company B"})
        cls.today = fields.Date.context_today(cls.customer)
        cls.shared = cls.env["res.partner"].create(
            {"name": "Shared Customer Ltd", "is_company": True, "company_id": False}
        )
        cls.user_a = new_test_user(
            cls.env,
            login="ct_mc_a",
            groups="sales_team.group_sale_manager",
            name="Manager A",
            company_id=cls.company_a.id,
            company_ids=[Command.set(cls.company_a.ids)],
        )
        # Company B's sales administrator, a tiering manager there.
        cls.user_b = new_test_user(
            cls.env,
            login="ct_mc_b",
            groups="sales_team.group_sale_manager",
            name="Manager B",
            company_id=cls.company_b.id,
            company_ids=[Command.set(cls.company_b.ids)],
        )
        cls.shared.user_id = cls.user_a
        cls.make_order(cls.shared, 600_000, days_ago=30)

    def confidential_texts(self):
        return (
            SECRET_REASON,
            SECRET_NOTES,
            "No order for",  # a health reason
            "Satisfaction",  # a review score in the reasons
            "(health score",  # the score itself
        )

    def test_company_b_reads_nothing_of_company_a_assessment(self):
        env_a = self.env(
            user=self.user_a,
            context=dict(self.env.context, allowed_company_ids=self.company_a.ids),
        )
        env_a["customer.tier.override.wizard"].create(
            {
                "partner_id": self.shared.id,
                "tier_id": self.tier_s.id,
                "reason": SECRET_REASON,
            }
        ).action_apply()
        env_a["customer.account.review"].create(
            {
                "partner_id": self.shared.id,
                "satisfaction": "1",
                "needs_met": "1",
                "relationship": "1",
                "notes": f"<p>{SECRET_NOTES}</p>",
            }
        )
        # Long without an order: at risk, a warning for its salesperson.
        self.env["customer.profile"].with_company(self.company_a)._refresh_partners(
            self.shared, today=self.today + timedelta(days=400)
        )
        profile_a = self.profile(self.shared)
        self.assertEqual(profile_a.health_band, "at_risk")
        self.assertEqual(profile_a.tier_id, self.tier_s)

        # What a user of company B reads: the partner, its chatter, its
        # activities, and the addon's records.
        env_b = self.env(
            user=self.user_b,
            context=dict(self.env.context, allowed_company_ids=self.company_b.ids),
        )
        partner_b = env_b["res.partner"].browse(self.shared.id)
        names = [n for n in partner_b._fields if n.startswith("customer_")]
        seen = [str(partner_b.read(names)[0])]
        messages = env_b["mail.message"].search(
            [("model", "=", "res.partner"), ("res_id", "=", self.shared.id)]
        )
        self.assertTrue(messages, "company A's notes are on the shared partner")
        seen += [str(m["body"]) for m in messages.read(["body"])]
        activities = env_b["mail.activity"].search(
            [("res_model", "=", "res.partner"), ("res_id", "=", self.shared.id)]
        )
        self.assertTrue(activities, "the health warning of company A")
        seen += [str(a) for a in activities.read(["summary", "note"])]
        text = "\n".join(seen)
        for secret in self.confidential_texts():
            self.assertNotIn(secret, text)
        self.assertFalse(partner_b.customer_override_reason)
        self.assertFalse(partner_b.customer_health_reasons)
        for model in (
            "customer.profile",
            "customer.tier.history",
            "customer.health.snapshot",
            "customer.account.review",
            "customer.touch",
            "customer.plan.compliance.report",
        ):
            self.assertFalse(
                env_b[model].search([("partner_id", "=", self.shared.id)]), model
            )

        # Company A's notes say whose they are ...
        notes = messages.sudo().filtered(lambda m: "tier" in (m.body or ""))
        self.assertTrue(notes)
        for note in notes:
            self.assertIn(self.company_a.name, note.body)
        # (the health warnings; plan follow-ups, scheduled at once since the
        # tier changed, carry their plan touch's own text)
        for activity in activities.sudo().filtered(
            lambda a: not a.customer_plan_line_id
        ):
            self.assertIn(self.company_a.name, activity.note)
        # ... and the confidential details stay in company A's records.
        history = profile_a.history_ids.filtered(lambda h: h.cause == "override_set")
        self.assertEqual(history.reason, SECRET_REASON)
        partner_a = self.shared.with_user(self.user_a).with_company(self.company_a)
        self.assertEqual(partner_a.customer_override_reason, SECRET_REASON)
        self.assertIn("No order for", partner_a.customer_health_reasons)
