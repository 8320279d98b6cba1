# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from datetime import date, timedelta
from unittest.mock import patch

from freezegun import freeze_time
from markupsafe import Markup

from odoo import fields
from odoo.exceptions import AccessError, UserError
from odoo.tests import new_test_user, tagged

from ..engine.cadence import Owner
from .common import TieringCase


@tagged("post_install", "-at_install")
class TestPlans(TieringCase):
    """Maintenance plans: plan per tier, scheduling, completion, compliance.

    The customer is a strategic (S) account: its shipped plan has a weekly call
    by the salesperson (2 days ahead), a monthly check-in by the expert (5 days
    ahead) and a quarterly business review by the team leader (14 days ahead).
    """

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.expert = new_test_user(
            cls.env,
            login="ct_expert",
            groups="sales_team.group_sale_salesman",
            name="Tiering Expert",
        )
        cls.leader = new_test_user(
            cls.env,
            login="ct_leader",
            groups="sales_team.group_sale_salesman",
            name="Tiering Leader",
        )
        team = cls.env["crm.team"].create(
            {"name": "Key Accounts", "user_id": cls.leader.id}
        )
        cls.env["crm.team.member"].create(
            {"crm_team_id": team.id, "user_id": cls.salesman.id}
        )
        cls.customer.write(
            {
                "user_id": cls.salesman.id,
                "customer_expert_user_id": cls.expert.id,
                "email": "buyer@tiering-customer.example.com",
            }
        )
        cls.plan_s = cls.env.ref("customer_tiering.plan_strategic")
        cls.plan_b = cls.env.ref("customer_tiering.plan_potential")
        cls.plan_c = cls.env.ref("customer_tiering.plan_standard")
        cls.call = cls.env.ref("customer_tiering.plan_strategic_call")
        cls.check_in = cls.env.ref("customer_tiering.plan_strategic_expert")
        cls.review = cls.env.ref("customer_tiering.plan_strategic_review")
        cls.today = fields.Date.context_today(cls.env["customer.profile"])
        # These tests lay down a plan start and a touch history before they
        # run the scheduler themselves: a tier change does not schedule at
        # once here (see test_day.py for that).
        cls.env = cls.env(
            context=dict(cls.env.context, customer_tiering_defer_followups=True)
        )

    # ------------------------------------------------------------------
    # helpers
    # ------------------------------------------------------------------
    def strategic(self, start_days=0, partner=None):
        """Make the customer strategic; its plan starts ``start_days`` from today."""
        partner = partner or self.customer
        self.make_order(partner, 5_000_000)
        profile = self.profile(partner)
        self.assertEqual(profile.plan_id, self.plan_s)
        profile._engine().plan_start = self.today + timedelta(days=start_days)
        return profile

    def followups(self, profiles=None):
        return self.env["mail.activity"].search(
            [("customer_profile_id", "in", (profiles or self.profile()).ids)]
        )

    def by_line(self, activities):
        return {a.customer_plan_line_id: a for a in activities}

    def touch(self, profile, line, day, deadline, **values):
        return self.env["customer.touch"].create(
            {
                "profile_id": profile.id,
                "partner_id": profile.partner_id.id,
                "company_id": profile.company_id.id,
                "plan_line_id": line.id,
                "plan_id": line.plan_id.id,
                "tier_id": profile.tier_id.id,
                "date": day,
                "deadline": deadline,
                **values,
            }
        )

    # ------------------------------------------------------------------
    # scheduling
    # ------------------------------------------------------------------
    def test_shipped_plans_follow_the_seeds(self):
        plans = {
            plan.tier_ids.code: plan
            for plan in self.env["customer.maintenance.plan"].search(
                [("company_id", "=", False)]
            )
        }
        self.assertEqual(set(plans), {"S", "A", "B", "C"})

        def rhythm(code):
            return [
                (
                    line.kind,
                    line.activity_type_id,
                    line.interval_number,
                    line.interval_unit,
                    line.responsible_type,
                )
                for line in plans[code].line_ids
            ]

        call = self.env.ref("mail.mail_activity_data_call")
        review = self.env.ref("customer_tiering.mail_activity_type_business_review")
        survey = self.env.ref("customer_tiering.mail_activity_type_satisfaction_survey")
        meeting = self.env.ref("mail.mail_activity_data_meeting")
        email = self.env.ref("mail.mail_activity_data_email")
        self.assertEqual(
            rhythm("S"),
            [
                ("activity", call, 1, "weeks", "salesperson"),
                ("activity", meeting, 1, "months", "expert"),
                ("activity", review, 3, "months", "team_leader"),
            ],
        )
        self.assertEqual(
            rhythm("A"),
            [
                ("activity", call, 2, "weeks", "salesperson"),
                ("activity", survey, 6, "months", "salesperson"),
            ],
        )
        self.assertEqual(
            rhythm("B"),
            [
                ("activity", call, 1, "months", "salesperson"),
                ("activity", review, 3, "months", "salesperson"),
            ],
        )
        self.assertEqual(rhythm("C"), [("email", email, 3, "months", "salesperson")])
        self.assertEqual(
            plans["C"].line_ids.mail_template_id,
            self.env.ref("customer_tiering.mail_template_product_news"),
        )
        self.assertEqual(plans["S"].target_growth, 20)
        cron = self.env.ref("customer_tiering.ir_cron_schedule_followups")
        self.assertEqual(cron.model_id.model, "customer.profile")

    def test_followups_get_owner_date_note_and_link(self):
        profile = self.strategic()
        stats = profile._schedule_followups(today=self.today)
        self.assertEqual(stats["activities"], 3)
        activities = self.by_line(self.followups(profile))
        self.assertEqual(set(activities), {self.call, self.check_in, self.review})
        self.assertEqual(activities[self.call].user_id, self.salesman)
        self.assertEqual(activities[self.check_in].user_id, self.expert)
        self.assertEqual(activities[self.review].user_id, self.leader)
        for line, activity in activities.items():
            self.assertEqual(activity.date_deadline, self.today)
            self.assertEqual(
                (activity.res_model, activity.res_id), ("res.partner", self.customer.id)
            )
            self.assertEqual(activity.summary, line.name)
            self.assertEqual(activity.activity_type_id, line.activity_type_id)
            self.assertEqual(activity.note, line.note)
            self.assertTrue(activity.automated)
        self.assertIn("industry trend report", activities[self.call].note)
        self.assertEqual(profile.next_touch_date, self.today)
        self.assertEqual(self.customer.customer_next_touch_date, self.today)
        # the salesperson finds them in the activity menu
        groups = self.env["res.users"].with_user(self.salesman)._get_activity_groups()
        partner_group = next(g for g in groups if g["model"] == "res.partner")
        self.assertGreaterEqual(partner_group["today_count"], 1)

    def test_bulk_followups_keep_what_create_gives(self):
        """The scheduler creates its follow-ups in bulk, not through
        mail.activity.create: they get the same document, deadline and owner,
        the owner follows the customer (once, even with two follow-ups of one
        owner on one customer in a batch, and again on the next batch), the
        owners' activity menus count them and are told to reload."""
        profile = self.strategic()
        partner = self.salesman.partner_id
        self.customer.message_unsubscribe(partner.ids)
        self.assertNotIn(partner, self.customer.message_partner_ids)
        before = self.activity_counts(self.salesman)
        # Due for the owner (the company's day) and for mail.activity's own
        # rule of its bus message (the UTC day), at whatever hour this runs.
        due = min(self.today, fields.Date.today())
        tomorrow = max(self.today, fields.Date.today()) + timedelta(days=1)
        salesman = Owner(self.salesman.id, "salesperson", False)
        values = [
            self.call._activity_values(profile, due, salesman),
            self.check_in._activity_values(profile, tomorrow, salesman),
            self.review._activity_values(
                profile, tomorrow, Owner(self.expert.id, "expert", False)
            ),
        ]
        Users = type(self.env["res.users"])
        with patch.object(Users, "_bus_send", autospec=True) as bus_send:
            activities = self.env["customer.profile"]._create_followups(values)
        self.assertEqual(len(activities), 3)
        # one notification, for the owner with a follow-up due today
        self.assertEqual(bus_send.call_count, 1)
        notified, kind, message = bus_send.call_args.args
        self.assertEqual(notified, self.salesman)
        self.assertEqual(kind, "mail.activity/updated")
        self.assertEqual(message, {"activity_created": True})
        partner_model = self.env["ir.model"]._get("res.partner")
        for activity, vals in zip(activities, values, strict=True):
            self.assertEqual(activity.res_model_id, partner_model)
            self.assertEqual(activity.res_model, "res.partner")
            self.assertEqual(activity.res_id, self.customer.id)
            self.assertEqual(activity.res_name, self.customer.display_name)
            self.assertEqual(activity.date_deadline, vals["date_deadline"])
            self.assertEqual(activity.user_id.id, vals["user_id"])
            self.assertEqual(activity.customer_profile_id, profile)
            self.assertEqual(
                activity.customer_plan_line_id.id, vals["customer_plan_line_id"]
            )
            deadline = vals["date_deadline"]
            self.assertEqual(
                activity.state,
                "today"
                if deadline == self.today
                else ("overdue" if deadline < self.today else "planned"),
            )
        self.assertEqual(activities[2].user_tz, self.expert.tz)
        self.assertEqual(self.customer.activity_ids & activities, activities)
        self.assertEqual(profile.followup_ids & activities, activities)

        def followers(user):
            return self.env["mail.followers"].search(
                [
                    ("res_model", "=", "res.partner"),
                    ("res_id", "=", self.customer.id),
                    ("partner_id", "=", user.partner_id.id),
                ]
            )

        self.assertEqual(len(followers(self.salesman)), 1)
        self.assertEqual(len(followers(self.expert)), 1)
        # the customer's default subtypes, as message_subscribe gives them
        default = self.env["mail.message.subtype"].default_subtypes("res.partner")[0]
        self.assertEqual(followers(self.salesman).subtype_ids, default)
        self.assertIn(partner, self.customer.message_partner_ids)
        # a next batch for an owner who already follows: still one follower
        self.env["customer.profile"]._create_followups(
            [self.call._activity_values(profile, tomorrow, salesman)]
        )
        self.assertEqual(len(followers(self.salesman)), 1)
        # the systray counter: what is due (today or overdue)
        after = self.activity_counts(self.salesman)
        self.assertEqual(after["total_count"], before["total_count"] + 1)
        self.assertEqual(
            after["today_count"] + after["overdue_count"],
            before["today_count"] + before["overdue_count"] + 1,
        )
        self.assertEqual(after["planned_count"], before["planned_count"] + 2)

    def test_bulk_followups_store_any_text(self):
        """The bulk INSERT sends each column as one array literal (or one
        value when the same in every row): quotes,
        backslashes, braces, commas, the word NULL and line breaks in the
        customer's name, the summary or the note are stored as they are,
        an empty summary stays empty; and a value no array literal carries
        goes through a VALUES list with the same result."""
        profile = self.strategic()
        tricky = 'O\'Brien "Big" {Co}, \\ NULL\nLtd'
        self.customer.name = tricky
        salesman = Owner(self.salesman.id, "salesperson", False)
        values = self.call._activity_values(profile, self.today, salesman)
        note = Markup("<p>%s</p>") % tricky
        rows = [
            {**values, "summary": tricky, "note": note},
            {**values, "summary": "NULL", "note": note},
            {**values, "summary": False, "note": note},
        ]
        Activity = self.env["mail.activity"].sudo()
        # the reference (one by one: create subscribes the owner once per call)
        created = Activity.concat(*(Activity.create(row) for row in rows))
        bulk = Activity._customer_create_bulk(rows)
        with patch(
            "odoo.addons.customer_tiering.models.sql_arrays.is_plain",
            return_value=False,
        ):
            listed = Activity._customer_create_bulk(rows)
        (created | bulk | listed).invalidate_recordset()
        self.assertEqual(created.mapped("summary"), [tricky, "NULL", False])
        self.assertEqual(created[0].res_name, tricky)
        # a value the same in every row goes once, not as an array
        same = Activity._customer_create_bulk([rows[0], rows[0]])
        same.invalidate_recordset()
        self.assertEqual(same.mapped("summary"), [tricky] * 2)
        self.assertEqual(same.mapped("note"), created[:1].mapped("note") * 2)
        for activities in (bulk, listed):
            for field in ("summary", "note", "res_name", "user_tz", "res_model"):
                self.assertEqual(activities.mapped(field), created.mapped(field), field)
            self.assertEqual(activities.mapped("date_deadline"), [self.today] * 3)

    def activity_counts(self, user):
        """The counters of ``user``'s activity menu for partners."""
        groups = self.env["res.users"].with_user(user)._get_activity_groups()
        partner_group = next((g for g in groups if g["model"] == "res.partner"), {})
        return {
            key: partner_group.get(key, 0)
            for key in ("total_count", "today_count", "overdue_count", "planned_count")
        }

    def test_second_run_creates_nothing(self):
        profile = self.strategic(start_days=-10)
        profile._schedule_followups()
        first = self.followups(profile)
        self.assertEqual(len(first), 3)
        stats = profile._schedule_followups()
        self.assertEqual(stats["activities"], 0)
        self.assertEqual(self.followups(profile), first)
        # the nightly cron skips what was checked today and, forced to run
        # again, still finds the follow-ups open
        Profile = self.env["customer.profile"]
        Profile._cron_schedule_followups()
        profile._engine().followups_checked_on = False
        totals = Profile._cron_schedule_followups()
        self.assertEqual(self.followups(profile), first)
        self.assertEqual(totals["activities"], 0)

    def test_lead_time(self):
        # weekly call 2 days ahead, check-in 5 days ahead, review 14 days ahead
        profile = self.strategic(start_days=4)
        profile._schedule_followups(today=self.today)
        self.assertEqual(
            set(self.by_line(self.followups(profile))), {self.check_in, self.review}
        )
        self.assertEqual(profile.next_touch_date, self.today + timedelta(days=4))
        profile._schedule_followups(today=self.today + timedelta(days=2))
        activities = self.by_line(self.followups(profile))
        self.assertEqual(len(activities), 3)
        self.assertEqual(
            activities[self.call].date_deadline, self.today + timedelta(days=4)
        )

    def test_downtime_gives_one_overdue_followup_per_line(self):
        profile = self.strategic(start_days=-70)
        last_call = self.today - timedelta(weeks=10)
        self.touch(profile, self.call, last_call, last_call)
        stats = profile._schedule_followups(today=self.today)
        self.assertEqual(stats["activities"], 3)
        activities = self.by_line(self.followups(profile))
        self.assertEqual(len(activities), 3)
        self.assertEqual(
            activities[self.call].date_deadline, last_call + timedelta(weeks=1)
        )
        self.assertEqual(
            activities[self.check_in].date_deadline, self.today - timedelta(days=70)
        )
        self.assertTrue(all(a.state == "overdue" for a in activities.values()))
        self.assertEqual(profile.next_touch_date, self.today - timedelta(days=70))
        # due over the last 90 days: the three overdue follow-ups and the call
        self.assertEqual(
            (
                self.customer.customer_touches_due,
                self.customer.customer_touches_on_time,
            ),
            (4, 1),
        )
        overdue = self.env["res.partner"].search(
            [("customer_next_touch_date", "<", self.today)]
        )
        self.assertIn(self.customer, overdue)

    def test_today_is_the_owners_today(self):
        # 20:00 UTC on Jan 1st is Jan 2nd at Kiritimati (UTC+14) and still Jan
        # 1st at Pago Pago (UTC-11); the weekly call due Jan 4th is created 2
        # days ahead in the owner's calendar.
        profile = self.strategic()
        profile._engine().plan_start = date(2030, 1, 4)
        self.salesman.tz = "Pacific/Pago_Pago"
        with freeze_time("2030-01-01 20:00:00"):
            profile._schedule_followups(only={(profile.id, self.call.id)})
            self.assertFalse(self.followups(profile))
            self.salesman.tz = "Pacific/Kiritimati"
            profile._schedule_followups(only={(profile.id, self.call.id)})
            call = self.followups(profile)
            self.assertEqual(call.date_deadline, date(2030, 1, 4))
            # done by the salesperson: the touch is dated in their calendar
            call.with_user(self.salesman).action_feedback(feedback="Early call")
        touch = profile.touch_ids
        self.assertEqual(
            (touch.date, touch.deadline), (date(2030, 1, 2), date(2030, 1, 4))
        )
        self.assertEqual(self.followups(profile).date_deadline, date(2030, 1, 9))

    # ------------------------------------------------------------------
    # completion
    # ------------------------------------------------------------------
    def test_done_records_touch_and_schedules_next(self):
        profile = self.strategic()
        profile._schedule_followups(today=self.today)
        call = self.by_line(self.followups(profile))[self.call]
        call.with_user(self.salesman).write({"customer_touch_outcome": "positive"})
        call.with_user(self.salesman).action_feedback(feedback="Liked the report")
        touch = profile.touch_ids
        self.assertEqual(len(touch), 1)
        self.assertEqual(touch.state, "done")
        self.assertEqual(touch.outcome, "positive")
        self.assertEqual(touch.note, "Liked the report")
        self.assertEqual(touch.user_id, self.salesman)
        self.assertEqual(touch.plan_line_id, self.call)
        self.assertEqual(touch.activity_type_id, self.call.activity_type_id)
        self.assertEqual(touch.tier_id, self.tier_s)
        self.assertEqual(touch.deadline, self.today)
        self.assertTrue(touch.on_time)
        done_day = touch.date
        # the next call is scheduled at once, one week after the done date
        activities = self.by_line(self.followups(profile))
        self.assertEqual(len(activities), 3)
        self.assertEqual(
            activities[self.call].date_deadline, done_day + timedelta(weeks=1)
        )
        self.assertEqual(activities[self.call].user_id, self.salesman)
        message = self.customer.message_ids.filtered(
            lambda m: "Liked the report" in (m.body or "")
        )
        self.assertIn("Positive", message.body)
        # a later run leaves it alone
        profile._schedule_followups(today=self.today + timedelta(days=6))
        self.assertEqual(len(self.followups(profile)), 3)

    def test_done_without_outcome_and_note_from_the_form(self):
        profile = self.strategic()
        profile._schedule_followups(today=self.today)
        check_in = self.by_line(self.followups(profile))[self.check_in]
        check_in.with_user(self.expert).write(
            {"customer_touch_outcome": "negative", "customer_touch_note": "Delays"}
        )
        check_in.with_user(self.expert).action_done()
        touch = profile.touch_ids
        self.assertEqual((touch.outcome, touch.note), ("negative", "Delays"))
        call = self.by_line(self.followups(profile))[self.call]
        call.action_done()
        call_touch = profile.touch_ids.filtered(lambda t: t.plan_line_id == self.call)
        self.assertEqual((call_touch.state, call_touch.outcome), ("done", False))

    def test_cancelled_due_followup_is_a_missed_touch(self):
        profile = self.strategic(start_days=-3)
        profile._schedule_followups(today=self.today)
        activities = self.by_line(self.followups(profile))
        activities[self.call].unlink()
        touch = profile.touch_ids
        self.assertEqual((touch.state, touch.on_time), ("missed", False))
        self.assertEqual(touch.deadline, self.today - timedelta(days=3))
        # the rhythm goes on from today: no call again before next week
        profile._schedule_followups(today=self.today)
        self.assertNotIn(self.call, self.by_line(self.followups(profile)))

    # ------------------------------------------------------------------
    # plan changes
    # ------------------------------------------------------------------
    def test_tier_change_switches_plan_and_cancels_followups_not_due(self):
        self.make_order(self.customer, 600_000)
        big = self.make_order(self.customer, 5_000_000)
        profile = self.profile()
        self.assertEqual(profile.plan_id, self.plan_s)
        profile._engine().plan_start = self.today + timedelta(days=3)
        last_call = self.today - timedelta(days=8)
        self.touch(profile, self.call, last_call, last_call)
        profile._schedule_followups(today=self.today)
        activities = self.by_line(self.followups(profile))
        self.assertEqual(
            activities[self.call].date_deadline, self.today - timedelta(days=1)
        )
        self.assertEqual(len(activities), 3)
        big._action_cancel()
        self.refresh(today=self.today + timedelta(days=30))
        self.assertEqual(self.tier_of(), self.tier_b)
        self.assertEqual(profile.plan_id, self.plan_b)
        self.assertEqual(profile.plan_start, self.today)
        # the overdue call stays open; the two not yet due are gone
        self.assertEqual(self.followups(profile), activities[self.call])
        self.assertEqual(len(profile.touch_ids), 1, "cancellations are no misses")
        note = self.customer.message_ids.filtered(
            lambda m: "not yet due, cancelled" in (m.body or "")
        )
        self.assertIn("to Potential account development", note.body)
        self.assertIn("cancelled: 2.", note.body)
        # the new plan starts at once
        profile._schedule_followups(today=self.today)
        new_lines = self.followups(profile).customer_plan_line_id - self.call
        self.assertEqual(new_lines, self.plan_b.line_ids)

    def test_pinned_plan_wins_over_the_tier(self):
        profile = self.strategic()
        with self.assertRaises(AccessError):
            self.customer.with_user(self.salesman).customer_pinned_plan_id = self.plan_c
        self.customer.with_user(self.manager).customer_pinned_plan_id = self.plan_b
        self.assertEqual(profile.plan_id, self.plan_b)
        self.assertEqual(self.customer.customer_plan_id, self.plan_b)
        self.refresh()
        self.assertEqual(profile.plan_id, self.plan_b, "the tier no longer decides")
        self.customer.with_user(self.manager).customer_pinned_plan_id = False
        self.assertEqual(profile.plan_id, self.plan_s)

    # ------------------------------------------------------------------
    # owners
    # ------------------------------------------------------------------
    def test_archived_owner_falls_back_to_leader_then_default_user(self):
        profile = self.strategic()
        self.salesman.action_archive()
        self.customer.customer_expert_user_id = False
        stats = profile._schedule_followups(today=self.today)
        activities = self.by_line(self.followups(profile))
        self.assertEqual(activities[self.call].user_id, self.leader)
        self.assertEqual(activities[self.check_in].user_id, self.leader)
        self.assertIn("Assigned to you", activities[self.call].note)
        self.assertEqual(stats["fallback"], 2)
        # without a team leader: the default user of the Settings
        self.followups(profile).unlink()
        profile.touch_ids.unlink()
        self.leader.action_archive()
        self.company.customer_plan_default_user_id = self.manager
        profile._schedule_followups(today=self.today)
        self.assertEqual(self.followups(profile).user_id, self.manager)
        # and without anyone: nothing is created, the gap is logged
        self.followups(profile).unlink()
        profile.touch_ids.unlink()
        self.company.customer_plan_default_user_id = False
        with self.assertLogs("odoo.addons.customer_tiering", "WARNING"):
            stats = profile._schedule_followups(today=self.today)
        self.assertEqual(stats["no_owner"], 3)
        self.assertFalse(self.followups(profile))

    def test_any_internal_user_completes_a_followup(self):
        clerk = new_test_user(
            self.env, login="ct_clerk", groups="base.group_user", name="Clerk"
        )
        self.assertFalse(
            clerk.has_group("customer_tiering.group_customer_tiering_user")
        )
        profile = self.strategic()
        (self.salesman | self.leader).action_archive()
        self.customer.customer_expert_user_id = False
        self.company.customer_plan_default_user_id = clerk
        profile._schedule_followups(today=self.today)
        followups = self.followups(profile)
        self.assertEqual(followups.user_id, clerk)
        followups[0].with_user(clerk).action_feedback(feedback="Done by the clerk")
        self.assertEqual(profile.touch_ids.note, "Done by the clerk")
        self.assertEqual(len(self.followups(profile)), 3, "the next one is planned")

    # ------------------------------------------------------------------
    # automated e-mails
    # ------------------------------------------------------------------
    def test_email_lines_queue_mails_and_skip_blacklisted(self):
        Partner = self.env["res.partner"]
        reader = Partner.create(
            {
                "name": "Reader Ltd",
                "is_company": True,
                "email": "news@reader.example.com",
            }
        )
        optout = Partner.create(
            {
                "name": "Opt-out Ltd",
                "is_company": True,
                "email": "Stop@OptOut.example.com",
            }
        )
        silent = Partner.create({"name": "Silent Ltd", "is_company": True})
        self.env["mail.blacklist"].create({"email": "stop@optout.example.com"})
        customers = reader | optout | silent
        for partner in customers:
            self.make_order(partner, 10_000)
        profiles = self.env["customer.profile"].search(
            [("partner_id", "in", customers.ids)]
        )
        self.assertEqual(profiles.plan_id, self.plan_c)
        profiles._engine().plan_start = self.today - timedelta(days=1)
        Mail = self.env["mail.mail"]
        stats = profiles._schedule_followups(today=self.today)
        self.assertEqual((stats["emails"], stats["skipped"]), (1, 2))
        mail = Mail.search(
            [("model", "=", "res.partner"), ("res_id", "in", customers.ids)]
        )
        self.assertEqual(mail.recipient_ids, reader)
        self.assertEqual(mail.state, "outgoing", "queued, not sent")
        self.assertIn("Here is what is new this quarter", mail.body_html)
        self.assertFalse(self.followups(profiles))
        touches = profiles.touch_ids
        self.assertEqual(
            {(t.partner_id, t.state) for t in touches},
            {(reader, "done"), (optout, "skipped"), (silent, "skipped")},
        )
        self.assertTrue(all(touches.mapped("automated")))
        self.assertIn("blacklisted", optout.message_ids[0].body)
        self.assertIn("no e-mail address", silent.message_ids[0].body)
        # the e-mail is in the customer's chatter; the next is due in 3 months
        self.assertIn(mail.mail_message_id, reader.message_ids)
        reader_profile = profiles.filtered(lambda p: p.partner_id == reader)
        self.assertEqual(
            reader_profile.next_touch_date,
            fields.Date.add(self.today, months=3),
        )
        stats = profiles._schedule_followups(today=self.today + timedelta(days=7))
        self.assertFalse(stats["emails"] or stats["skipped"])
        self.assertEqual(
            len(
                Mail.search(
                    [("res_id", "in", customers.ids), ("model", "=", "res.partner")]
                )
            ),
            1,
        )

    # ------------------------------------------------------------------
    # compliance
    # ------------------------------------------------------------------
    def test_compliance_on_a_known_history(self):
        profile = self.strategic()

        def engagement():
            """The engagement source of the refresh's gather step."""
            scope = profile._gather_scope(
                self.company, self.today, {self.customer.id: profile.id}
            )
            return profile._gather_engagement(scope)

        # nothing due yet: no rate
        self.assertEqual(engagement(), {})

        def day(days_ago):
            return self.today - timedelta(days=days_ago)

        call = self.call
        for deadline, done in [(10, 10), (20, 21), (30, 30), (40, 41)]:
            self.touch(profile, call, day(done), day(deadline))  # 4 on time
        self.touch(profile, call, day(50), day(55))  # done late
        self.touch(profile, call, day(60), day(62), state="missed")
        self.touch(profile, call, day(100), day(100))  # before the window
        self.touch(profile, call, self.today, self.today)  # due today: not yet
        self.touch(profile, call, day(70), day(70), automated=True)  # e-mail
        self.env["mail.activity"].create(
            call._activity_values(profile, day(2), self._owner(self.salesman))
        )  # open, overdue
        # 7 due in the last 90 days (4 + late + missed + open), 4 on time
        self.assertEqual(engagement(), {self.customer.id: {"engagement": 57.1}})
        profile._schedule_followups(today=self.today)
        self.assertEqual((profile.touches_due, profile.touches_on_time), (7, 4))
        self.assertAlmostEqual(profile.plan_compliance, 57.1)
        self.assertAlmostEqual(self.customer.customer_plan_compliance, 57.1)
        # the report gives the same figure per tier and per owner
        Report = self.env["customer.plan.compliance.report"]
        domain = [
            ("partner_id", "=", self.customer.id),
            ("deadline", ">=", day(90)),
            ("deadline", "<", self.today),
        ]
        [(tier, rate, count)] = Report._read_group(
            domain, ["tier_id"], ["on_time_rate:avg", "touch_count:sum"]
        )
        self.assertEqual((tier, count), (self.tier_s, 7))
        self.assertAlmostEqual(rate, 400 / 7)

    def _owner(self, user):
        return Owner(user_id=user.id, role="salesperson", fallback=False)

    # ------------------------------------------------------------------
    # access
    # ------------------------------------------------------------------
    def test_access(self):
        profile = self.strategic()
        profile._schedule_followups(today=self.today)
        call = self.by_line(self.followups(profile))[self.call]
        call.with_user(self.salesman).action_feedback(feedback="ok")
        touch = profile.touch_ids.with_user(self.salesman)
        touch.write({"outcome": "neutral", "note": "Call back in May"})
        with self.assertRaises(UserError):
            touch.write({"date": self.today - timedelta(days=30)})
        with self.assertRaises(AccessError):
            touch.with_user(self.expert).write({"outcome": "negative"})
        with self.assertRaises(AccessError):
            self.env["customer.maintenance.plan"].with_user(self.salesman).create(
                {"name": "Mine"}
            )
        self.assertTrue(self.plan_s.with_user(self.salesman).line_ids)
        plan = (
            self.env["customer.maintenance.plan"]
            .with_user(self.manager)
            .create({"name": "Managers' plan", "tier_ids": [(4, self.tier_a.id)]})
        )
        self.assertTrue(plan)
        profile.with_user(self.manager).pinned_plan_id = plan
        self.assertEqual(profile.plan_id, plan)

    def test_demo_followups_are_in_the_salespersons_activities(self):
        demo_user = self.env.ref("base.user_demo")
        for tier in self.tier_s | self.tier_a | self.tier_b | self.tier_c:
            profiles = self.env["customer.profile"].search([("tier_id", "=", tier.id)])
            self.assertTrue(profiles, tier.name)
            self.assertEqual(profiles.plan_id.tier_ids, tier)
        jiangnan = self.env.ref("customer_tiering.demo_partner_jiangnan")
        self.assertEqual(jiangnan.customer_plan_id, self.plan_s)
        self.assertTrue(jiangnan.customer_touch_ids.filtered("outcome"))
        followups = self.env["mail.activity"].search(
            [("user_id", "=", demo_user.id), ("customer_plan_line_id", "!=", False)]
        )
        self.assertTrue(followups)
        groups = self.env["res.users"].with_user(demo_user)._get_activity_groups()
        contacts = next(g for g in groups if g["model"] == "res.partner")
        self.assertGreaterEqual(
            contacts["total_count"],
            len(followups.filtered(lambda a: a.state != "planned")),
        )
