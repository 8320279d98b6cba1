# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The salesperson's day (issue 14): follow-ups on the day of a tier change,
views that stay true, reachable reports, individuals and contacts, the
team's language."""

from datetime import timedelta

from odoo import fields
from odoo.tests import new_test_user, tagged

from .common import TieringCase


@tagged("post_install", "-at_install")
class TestDay(TieringCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.leader = new_test_user(
            cls.env,
            login="ct_day_leader",
            groups="sales_team.group_sale_salesman",
            name="Day Leader",
        )
        team = cls.env["crm.team"].create(
            {"name": "Day Team", "user_id": cls.leader.id}
        )
        cls.env["crm.team.member"].create(
            {"crm_team_id": team.id, "user_id": cls.salesman.id}
        )
        cls.customer.write(
            {"user_id": cls.salesman.id, "customer_expert_user_id": cls.leader.id}
        )
        cls.plan_s = cls.env.ref("customer_tiering.plan_strategic")
        cls.plan_b = cls.env.ref("customer_tiering.plan_potential")
        cls.today = fields.Date.context_today(cls.env["customer.profile"])

    def followups(self, profile=None):
        return self.env["mail.activity"].search(
            [("customer_profile_id", "=", (profile or self.profile()).id)]
        )

    # ------------------------------------------------------------------
    # 1. Follow-ups on the day of a tier change
    # ------------------------------------------------------------------
    def test_tier_change_schedules_the_new_plan_at_once(self):
        self.make_order(self.customer, 600_000)
        profile = self.profile()
        self.assertEqual(profile.plan_id, self.plan_b)
        # last night's run went through the customer
        self.env["customer.profile"]._cron_schedule_followups()
        self.assertEqual(profile.followups_checked_on, self.today)
        before = self.followups()
        self.assertEqual(before.customer_plan_line_id, self.plan_b.line_ids)
        order = self.make_order(self.customer, 6_000_000, confirm=False)
        order.with_user(self.salesman).action_confirm()
        self.assertEqual(self.tier_of(), self.tier_s)
        self.assertEqual(profile.plan_id, self.plan_s)
        # in the same transaction: the new plan's first follow-ups, for their
        # owners, and the next touch
        followups = self.followups()
        new = followups.filtered(
            lambda a: a.customer_plan_line_id.plan_id == self.plan_s
        )
        self.assertEqual(new.customer_plan_line_id, self.plan_s.line_ids)
        self.assertEqual(set(new.mapped("date_deadline")), {self.today})
        self.assertIn(self.salesman, new.user_id)
        self.assertEqual(profile.next_touch_date, self.today)
        self.customer.invalidate_recordset()
        self.assertEqual(self.customer.customer_next_touch_date, self.today)
        # the salesperson sees them in the systray at once
        groups = self.env["res.users"].with_user(self.salesman)._get_activity_groups()
        partner_group = next(g for g in groups if g["model"] == "res.partner")
        self.assertGreaterEqual(partner_group["today_count"], 1)
        # the scheduler has nothing left to do for it today
        totals = self.env["customer.profile"]._cron_schedule_followups()
        self.assertEqual(totals["activities"], 0)

    def test_new_plan_line_reaches_customers_checked_today(self):
        self.make_order(self.customer, 5_000_000)
        profile = self.profile()
        self.env["customer.profile"]._cron_schedule_followups()
        self.assertEqual(profile.followups_checked_on, self.today)
        count = len(self.followups())
        line = self.env["customer.maintenance.plan.line"].create(
            {
                "plan_id": self.plan_s.id,
                "name": "Site visit",
                "activity_type_id": self.env.ref("mail.mail_activity_data_meeting").id,
                "interval_number": 2,
                "interval_unit": "months",
            }
        )
        self.env["customer.profile"]._cron_schedule_followups()
        self.assertEqual(len(self.followups()), count + 1)
        self.assertIn(line, self.followups().customer_plan_line_id)

    def test_plan_moved_to_another_tier_reaches_customers_checked_today(self):
        self.make_order(self.customer, 600_000)
        profile = self.profile()
        self.env["customer.profile"]._cron_schedule_followups()
        self.assertEqual(profile.plan_id, self.plan_b)
        # the strategic plan now also serves potential accounts
        self.plan_b.tier_ids = False
        self.plan_s.tier_ids |= self.tier_b
        self.env["customer.profile"]._cron_schedule_followups()
        self.assertEqual(profile.plan_id, self.plan_s)
        self.assertEqual(
            self.followups().customer_plan_line_id.filtered(
                lambda line: line.plan_id == self.plan_s
            ),
            self.plan_s.line_ids,
        )
        self.assertLessEqual(profile.next_touch_date, self.today + timedelta(days=0))

    def test_pinned_plan_schedules_at_once(self):
        self.make_order(self.customer, 600_000)
        profile = self.profile()
        self.env["customer.profile"]._cron_schedule_followups()
        self.customer.with_user(self.manager).customer_pinned_plan_id = self.plan_s
        self.assertEqual(
            self.followups().customer_plan_line_id.filtered(
                lambda line: line.plan_id == self.plan_s
            ),
            self.plan_s.line_ids,
        )
        self.assertEqual(profile.next_touch_date, self.today)
