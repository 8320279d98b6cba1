# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from datetime import timedelta

from odoo import fields
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import new_test_user, tagged
from odoo.tools import mute_logger

from .common import TieringCase

ACTIVITY = "customer_tiering.mail_activity_type_tier_request"


@tagged("post_install", "-at_install")
class TestTierRequest(TieringCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.customer.user_id = cls.salesman
        cls.other_salesman = new_test_user(
            cls.env,
            login="ct_other_salesman",
            groups="sales_team.group_sale_salesman",
            name="Other Salesman",
        )
        cls.other_customer = cls.env["res.partner"].create(
            {
                "name": "Someone Else's Customer",
                "is_company": True,
                "user_id": cls.other_salesman.id,
            }
        )
        cls.make_order(cls.customer, 100_000)
        cls.today = fields.Date.context_today(cls.env["customer.profile"])

    def request(self, user=None, partner=None, **values):
        Request = self.env["customer.tier.request"].with_user(user or self.salesman)
        return Request.create(
            {
                "partner_id": (partner or self.customer).id,
                "requested_tier_id": self.tier_a.id,
                "reason": "Reference customer for the region",
                **values,
            }
        )

    def test_state_machine(self):
        request = self.request().with_context(
            tracking_disable=False, mail_notrack=False
        )
        self.assertEqual(request.state, "draft")
        self.assertEqual(request.requested_by, self.salesman)
        self.assertEqual(request.current_tier_id, self.tier_c)
        request.action_submit()
        self.assertEqual(request.state, "submitted")
        activity = request.sudo().activity_ids
        self.assertIn(self.manager, activity.user_id, "the managers review it")
        self.assertNotIn(self.salesman, activity.user_id)
        self.assertEqual(set(activity.activity_type_id), {self.env.ref(ACTIVITY)})
        with self.assertRaises(UserError):
            request.action_submit()
        with self.assertRaises(UserError):
            request.with_user(self.manager)._reject("")
        request.action_cancel()
        self.assertEqual(request.state, "cancelled")
        self.assertFalse(request.sudo().activity_ids, "no review left to do")
        with self.assertRaises(UserError):
            request.with_user(self.manager).action_approve()
        with self.assertRaises(UserError):
            request.action_submit()
        tracked = request.sudo().message_ids.tracking_value_ids.filtered(
            lambda t: t.field_id.name == "state"
        )
        self.assertIn("Cancelled", tracked.mapped("new_value_char"))

    def test_one_open_request_per_customer_and_company(self):
        first = self.request()
        with self.assertRaises(ValidationError), mute_logger("odoo.sql_db"):
            self.request(user=self.manager)
        first.action_submit()
        with self.assertRaises(ValidationError):
            self.request(user=self.manager)
        first.action_cancel()
        second = self.request(user=self.manager)
        self.assertEqual(second.state, "draft")
        # Another customer is another matter.
        self.request(user=self.manager, partner=self.other_customer)

    def test_request_is_for_the_company_not_a_contact(self):
        request = self.request(partner=self.contact)
        self.assertEqual(request.partner_id, self.customer)

    def test_approve_sets_override_history_and_notifies(self):
        until = self.today + timedelta(days=90)
        request = self.request(until=until)
        request.action_submit()
        request.with_user(self.manager).action_approve()
        self.assertEqual(request.state, "approved")
        self.assertEqual(request.reviewed_by, self.manager)
        self.assertEqual(self.tier_of(), self.tier_a)
        profile = self.profile()
        self.assertEqual(profile.override_tier_id, self.tier_a)
        self.assertEqual(profile.override_until, until)
        self.assertEqual(profile.override_user_id, self.manager)
        self.assertIn("Reference customer for the region", profile.override_reason)
        self.assertIn("Tiering Salesman", profile.override_reason)
        history = request.history_id
        self.assertTrue(history)
        self.assertEqual(
            (history.cause, history.from_tier_id, history.to_tier_id),
            ("override_set", self.tier_c, self.tier_a),
        )
        self.assertEqual(history, profile.history_ids.sorted("id")[-1])
        # The requester is told; the review activities are closed.
        notified = request.message_ids.filtered(
            lambda m: self.salesman.partner_id in m.partner_ids
        )
        self.assertEqual(len(notified), 1)
        self.assertIn("was approved by Tiering Manager", notified.body)
        self.assertFalse(request.sudo().activity_ids)
        with self.assertRaises(UserError):
            request.with_user(self.manager).action_approve()

    def test_approve_holding_the_current_tier_is_recorded(self):
        request = self.request(requested_tier_id=self.tier_c.id)
        request.action_submit()
        request.with_user(self.manager).action_approve()
        self.assertEqual(self.tier_of(), self.tier_c)
        self.assertEqual(request.history_id.to_tier_id, self.tier_c)
        self.assertEqual(request.history_id.cause, "override_set")

    def test_reject_needs_a_reason_and_notifies(self):
        request = self.request()
        request.action_submit()
        action = request.with_user(self.manager).action_reject()
        Wizard = self.env[action["res_model"]].with_user(self.manager)
        with self.assertRaises(UserError):
            Wizard.create({"request_ids": request.ids, "reason": "  "}).action_reject()
        self.assertEqual(request.state, "submitted")
        Wizard.create(
            {"request_ids": request.ids, "reason": "Revenue is far below A"}
        ).action_reject()
        self.assertEqual(request.state, "rejected")
        self.assertEqual(request.reject_reason, "Revenue is far below A")
        self.assertEqual(self.tier_of(), self.tier_c, "the tier did not move")
        self.assertFalse(self.profile().override_tier_id)
        notified = request.message_ids.filtered(
            lambda m: self.salesman.partner_id in m.partner_ids
        )
        self.assertIn("Revenue is far below A", notified.body)
        self.assertFalse(request.sudo().activity_ids)

    def test_requester_is_told_in_their_language(self):
        self.env["res.lang"]._activate_lang("zh_CN")
        self.env["ir.module.module"]._load_module_terms(
            ["customer_tiering"], ["zh_CN"], overwrite=True
        )
        self.salesman.lang = "zh_CN"
        request = self.request()
        request.action_submit()
        request.with_user(self.manager).action_approve()
        notified = request.message_ids.filtered(
            lambda m: self.salesman.partner_id in m.partner_ids
        )
        self.assertIn("级别复核申请已由 Tiering Manager 批准", notified.body)
        self.assertIn("重点", notified.body, "the tier's name in Chinese")

    def test_own_documents_salesman_access(self):
        # Not for another salesperson's customer.
        with self.assertRaises(AccessError):
            self.request(partner=self.other_customer)
        theirs = self.request(user=self.other_salesman, partner=self.other_customer)
        Request = self.env["customer.tier.request"].with_user(self.salesman)
        self.assertFalse(Request.search([("id", "=", theirs.id)]))
        with self.assertRaises(AccessError):
            theirs.with_user(self.salesman).read(["reason"])
        # Their own request: no approval, no workflow by plain writes.
        mine = self.request()
        mine.action_submit()
        with self.assertRaises(UserError):
            mine.action_approve()
        with self.assertRaises(UserError):
            mine.action_reject()
        with self.assertRaises(AccessError):
            mine.write({"state": "approved"})
        with self.assertRaises(UserError):
            mine.write({"reason": "changed after submission"})
        self.assertEqual(mine.state, "submitted")
        # Managers see every request of their companies.
        Managed = self.env["customer.tier.request"].with_user(self.manager)
        self.assertEqual(
            Managed.search([("id", "in", (theirs | mine).ids)]), theirs | mine
        )

    def test_menu_defaults(self):
        Request = self.env["customer.tier.request"]
        manager_action = Request.with_user(self.manager)._action_open_requests()
        self.assertEqual(manager_action["context"], {"search_default_to_review": 1})
        sales_action = Request.with_user(self.salesman)._action_open_requests()
        self.assertEqual(sales_action["context"], {"search_default_open": 1})
