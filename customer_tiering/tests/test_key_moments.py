# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from datetime import datetime, time, timedelta

from odoo import Command, fields
from odoo.exceptions import AccessError
from odoo.tests import Form, HttpCase, new_test_user, tagged
from odoo.tools import SQL

from .common import CompanyDayTours, TieringCase


@tagged("post_install", "-at_install")
class TestKeyMoments(TieringCase):
    """Key moments raise the rhythm: the customer follows a plan with one
    quarterly review (created 14 days ahead); during a key moment's window
    it comes every 45 days or so (half the normal interval) instead."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.today = fields.Date.context_today(cls.env["customer.profile"])
        cls.other = new_test_user(
            cls.env,
            login="ct_km_other",
            groups="sales_team.group_sale_salesman",
            name="Other Salesman",
        )
        cls.customer.user_id = cls.salesman
        cls.plan = cls.env["customer.maintenance.plan"].create(
            {
                "name": "Quarterly review only",
                "line_ids": [
                    Command.create(
                        {
                            "name": "Quarterly review",
                            "activity_type_id": cls.env.ref(
                                "mail.mail_activity_data_meeting"
                            ).id,
                            "interval_number": 3,
                            "interval_unit": "months",
                            "lead_days": 14,
                        }
                    )
                ],
            }
        )
        cls.line = cls.plan.line_ids
        cls.renewal = cls.env.ref("customer_tiering.key_moment_type_contract_renewal")
        cls.project = cls.env.ref("customer_tiering.key_moment_type_large_project")

    def followed(self, partner=None, last_review_days_ago=30):
        """The customer on the quarterly plan, last reviewed some days ago."""
        partner = partner or self.customer
        self.make_order(partner, 600_000)
        profile = self.profile(partner)
        done = self.today - timedelta(days=last_review_days_ago)
        self.env["customer.touch"].create(
            {
                "profile_id": profile.id,
                "partner_id": partner.id,
                "company_id": self.company.id,
                "plan_id": self.plan.id,
                "plan_line_id": self.line.id,
                "date": done,
                "deadline": done,
            }
        )
        profile.pinned_plan_id = self.plan  # scheduled at once
        self.assertEqual(profile.plan_id, self.plan)
        return profile, done

    def record(self, kind, days_ahead, user=None, partner=None, **values):
        return (
            self.env["customer.key.moment"]
            .with_user(user or self.salesman)
            .create(
                {
                    "partner_id": (partner or self.customer).id,
                    "type_id": kind.id,
                    "date": self.today + timedelta(days=days_ahead),
                    **values,
                }
            )
        )

    def followups(self, profile):
        """The open follow-ups of the quarterly review (those of the tier's
        plan, due today when the first order made the customer B, stay)."""
        return self.env["mail.activity"].search(
            [
                ("customer_profile_id", "=", profile.id),
                ("customer_plan_line_id", "=", self.line.id),
            ]
        )

    def test_renewal_within_its_window_brings_the_next_touch_earlier(self):
        profile, done = self.followed(last_review_days_ago=30)
        normal = fields.Date.add(done, months=3)
        self.assertEqual(profile.next_touch_date, normal)
        self.assertFalse(self.followups(profile))
        # Half of the quarter (90 to 92 days).
        faster = done + timedelta(days=(normal - done).days // 2)
        # Renewal in 100 days: its 180-day window is open.
        moment = self.record(self.renewal, 100, note="Framework contract")
        self.assertEqual(moment.user_id, self.salesman)
        self.assertEqual(moment.rhythm_from, self.today)
        self.assertEqual(profile.next_touch_date, faster)
        self.assertLess(profile.next_touch_date, normal)
        # The form shows the coming moment, the explanation mentions it.
        self.customer.invalidate_recordset()
        customer = self.customer.with_user(self.salesman)
        self.assertEqual(customer.customer_next_key_moment_id, moment)
        self.assertEqual(customer.customer_key_moment_ids, moment)
        self.assertEqual(customer.customer_next_touch_date, faster)
        profile.invalidate_recordset(["health_reasons"])
        self.assertIn("Contract renewal on", profile.health_reasons)
        self.assertIn("follow-ups at the faster rhythm.", profile.health_reasons)
        # The follow-up is created at the faster rhythm, 14 days ahead.
        profile._schedule_followups(today=faster - timedelta(days=14))
        self.assertEqual(self.followups(profile).date_deadline, faster)
        # Settled: the normal rhythm again (the open follow-up stays).
        moment.with_user(self.salesman).done = True
        self.assertEqual(profile.next_touch_date, faster)
        self.followups(profile).with_context(customer_touch_recorded=True).unlink()
        profile._schedule_followups(today=self.today)
        self.assertEqual(profile.next_touch_date, normal)

    def test_recorded_on_the_companys_day(self):
        """A moment recorded at 15:00 UTC is recorded the next day where the
        company is (UTC+14): its window opens that day at the earliest, on
        the form and for the scheduler alike (not on the UTC day)."""
        self.company.customer_tiering_tz = "Pacific/Kiritimati"
        profile, __ = self.followed()
        moment = self.record(self.renewal, 100)
        utc_day = fields.Date.today() - timedelta(days=1)
        self.env.cr.execute(
            SQL(
                "UPDATE customer_key_moment SET create_date = %s WHERE id = %s",
                datetime.combine(utc_day, time(15)),
                moment.id,
            )
        )
        moment.invalidate_recordset(["create_date", "rhythm_from"])
        local_day = utc_day + timedelta(days=1)
        self.assertEqual(
            self.company._customer_tiering_date(moment.create_date), local_day
        )
        self.assertEqual(moment.rhythm_from, local_day)
        windows = profile._fetch_key_moments(self.today)[profile.id]
        self.assertEqual([w.opens for w in windows], [local_day])

    def test_recorded_from_the_form(self):
        profile, done = self.followed(last_review_days_ago=30)
        normal = fields.Date.add(done, months=3)
        action = self.customer.with_user(self.salesman).action_customer_key_moment()
        Moment = self.env["customer.key.moment"].with_user(self.salesman)
        with Form(Moment.with_context(**action["context"])) as form:
            form.type_id = self.renewal
            form.date = self.today + timedelta(days=300)
            # The window opens 180 days before, but not before today.
            self.assertEqual(form.rhythm_from, self.today + timedelta(days=120))
            form.date = self.today + timedelta(days=100)
            self.assertEqual(form.rhythm_from, self.today)
            form.note = "Framework contract"
        moment = form.record
        self.assertEqual(moment.partner_id, self.customer)
        self.assertEqual(moment.user_id, self.salesman)
        self.assertLess(profile.next_touch_date, normal)

    def test_open_followup_moves_earlier(self):
        profile, done = self.followed(last_review_days_ago=80)
        normal = fields.Date.add(done, months=3)
        followup = self.followups(profile)
        self.assertEqual(followup.date_deadline, normal)
        self.assertEqual(profile.next_touch_date, normal)
        self.record(self.renewal, 150)
        # Due at once (half a quarter after the last review is past, but the
        # renewal was only known today): never overdue in the past.
        self.assertEqual(followup.date_deadline, self.today)
        self.assertEqual(profile.next_touch_date, self.today)
        self.assertEqual(self.followups(profile), followup)
        # A later run leaves it there.
        profile._schedule_followups()
        self.assertEqual(followup.date_deadline, self.today)
        # Put off by its owner beyond the normal due date: left alone.
        followup.date_deadline = normal + timedelta(days=10)
        profile._schedule_followups()
        self.assertEqual(followup.date_deadline, normal + timedelta(days=10))

    def test_outside_the_window_nothing_changes(self):
        profile, done = self.followed(last_review_days_ago=30)
        normal = fields.Date.add(done, months=3)
        # A large project in 200 days: its 90-day window opens after the
        # review is due anyway.
        moment = self.record(self.project, 200)
        self.assertEqual(profile.next_touch_date, normal)
        self.assertGreater(moment.rhythm_from, normal)
        profile.invalidate_recordset(["health_reasons"])
        self.assertIn("follow-ups at the faster rhythm from", profile.health_reasons)
        # A past moment, an archived kind or a settled moment: nothing either.
        self.record(self.renewal, -1)
        self.record(self.renewal, 60, done=True)
        self.assertEqual(profile.next_touch_date, normal)
        self.project.active = False
        self.record(self.project, 30)
        self.assertEqual(profile.next_touch_date, normal)
        # The plan line's own key-moment interval applies when set.
        self.project.active = True
        self.line.key_moment_interval_days = 40
        self.record(self.renewal, 20)
        self.assertEqual(profile.next_touch_date, done + timedelta(days=40))

    def test_kind_change_triggers_the_scheduler(self):
        profile, __ = self.followed()
        self.record(self.project, 100)
        self.assertEqual(profile.followups_checked_on, self.today)
        self.project.window_days = 120
        self.assertFalse(profile.followups_checked_on)
        self.env["customer.profile"]._cron_schedule_followups()
        self.assertEqual(profile.followups_checked_on, self.today)

    def test_salesman_sees_and_records_moments_of_his_customers_only(self):
        theirs = self.env["res.partner"].create(
            {
                "name": "Customer of another",
                "is_company": True,
                "user_id": self.other.id,
            }
        )
        mine = self.record(self.renewal, 100, partner=self.contact)
        # Recorded for the customer, never for its contact.
        self.assertEqual(mine.partner_id, self.customer)
        other = self.record(self.renewal, 100, user=self.other, partner=theirs)
        with self.assertRaises(AccessError):
            self.record(self.renewal, 100, partner=theirs)
        with self.assertRaises(AccessError):
            other.with_user(self.salesman).note = "Mine now"
        Moment = self.env["customer.key.moment"].with_user(self.salesman)
        self.assertEqual(Moment.search([("id", "in", (mine | other).ids)]), mine)
        self.assertFalse(theirs.with_user(self.salesman).customer_key_moment_ids)
        self.assertFalse(theirs.with_user(self.salesman).customer_next_key_moment_id)
        # A sales manager sees both.
        Manager = self.env["customer.key.moment"].with_user(self.manager)
        self.assertEqual(
            Manager.search([("id", "in", (mine | other).ids)]), mine | other
        )
        # Only managers configure the kinds.
        with self.assertRaises(AccessError):
            self.renewal.with_user(self.salesman).window_days = 10
        self.renewal.with_user(self.manager).window_days = 170

    def test_shipped_kinds_in_chinese(self):
        self.env["res.lang"]._activate_lang("zh_CN")
        self.env["ir.module.module"]._load_module_terms(
            ["customer_tiering"], ["zh_CN"], overwrite=True
        )
        kinds = {
            self.renewal: 180,
            self.project: 90,
            self.env.ref("customer_tiering.key_moment_type_regulatory_change"): 90,
        }
        for kind, days in kinds.items():
            self.assertEqual(kind.window_days, days)
            chinese = kind.with_context(lang="zh_CN").name
            self.assertTrue(chinese)
            self.assertNotEqual(chinese, kind.with_context(lang="en_US").name)
        self.assertEqual(self.renewal.with_context(lang="zh_CN").name, "合同续约")


@tagged("post_install", "-at_install")
class TestKeyMomentTour(CompanyDayTours, HttpCase):
    def test_salesperson_records_a_key_moment(self):
        salesperson = new_test_user(
            self.env,
            login="ct_km_tour",
            groups="sales_team.group_sale_salesman",
            name="Key Moment Salesperson",
            # the company's day is the user's day, whatever the hour
            tz=self.env.company._customer_tiering_tz_name(),
        )
        customer = self.env["res.partner"].create(
            {
                "name": "Key Moment Customer",
                "is_company": True,
                "user_id": salesperson.id,
            }
        )
        product = self.env.ref("customer_tiering.demo_product_service")
        self.env["sale.order"].create(
            {
                "partner_id": customer.id,
                "order_line": [
                    Command.create({"product_id": product.id, "price_unit": 600_000})
                ],
            }
        ).action_confirm()
        profile = customer.customer_profile_id
        plan = self.env["customer.maintenance.plan"].create(
            {
                "name": "Tour quarterly review",
                "line_ids": [
                    Command.create(
                        {
                            "name": "Quarterly review",
                            "activity_type_id": self.env.ref(
                                "mail.mail_activity_data_meeting"
                            ).id,
                            "interval_number": 3,
                            "interval_unit": "months",
                        }
                    )
                ],
            }
        )
        done = fields.Date.context_today(profile) - timedelta(days=30)
        self.env["customer.touch"].create(
            {
                "profile_id": profile.id,
                "partner_id": customer.id,
                "company_id": profile.company_id.id,
                "plan_id": plan.id,
                "plan_line_id": plan.line_ids.id,
                "date": done,
                "deadline": done,
            }
        )
        profile.pinned_plan_id = plan
        before = profile.next_touch_date
        self.assertEqual(before, fields.Date.add(done, months=3))
        self.start_tour(
            f"/odoo/res.partner/{customer.id}",
            "customer_tiering_key_moment_tour",
            login="ct_km_tour",
        )
        moment = self.env["customer.key.moment"].search(
            [("partner_id", "=", customer.id)]
        )
        self.assertEqual(
            (moment.type_id, moment.user_id, moment.note),
            (
                self.env.ref("customer_tiering.key_moment_type_contract_renewal"),
                salesperson,
                "Tour: framework contract",
            ),
        )
        profile.invalidate_recordset()
        self.assertLess(profile.next_touch_date, before)
