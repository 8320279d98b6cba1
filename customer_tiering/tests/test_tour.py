# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import threading
from datetime import timedelta

import odoo
from odoo import SUPERUSER_ID, Command, api, fields
from odoo.tests import HttpCase, new_test_user, tagged
from odoo.tools import SQL

from ..engine import refresh
from .common import CompanyDayTours
from odoo.addons.bus.models.bus import ODOO_NOTIFY_FUNCTION, get_notify_payloads

# The backtest tour logs this note when it waits for the scheduler.
SCHEDULER_GO = "Tour: scheduler, go"


@tagged("post_install", "-at_install")
class TestTours(CompanyDayTours, HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # The modules' static paths, read once here: the browser's first
        # parallel requests would each parse the manifests, which Python
        # 3.11.7 fails now and then in threads ("AST constructor recursion
        # depth mismatch", a 500 on an asset bundle).
        odoo.http.root.statics  # noqa: B018  # pylint: disable=pointless-statement

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
        # The tour reads this reason on the Health tab (330 days, or 331 once
        # the demo data's UTC day is over where the user is).
        data = partner.customer_profile_id.health_data
        recency = refresh.raw_of(data)["recency"]
        self.assertIn(round(recency), (330, 331))
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

    def test_salesperson_completes_a_followup(self):
        salesperson = new_test_user(
            self.env,
            login="ct_tour_sales",
            groups="sales_team.group_sale_salesman",
            name="Tour Salesperson",
            # the company's day is the user's day, whatever the hour
            tz=self.env.company._customer_tiering_tz_name(),
        )
        self.env.company.customer_plan_default_user_id = self.env.ref("base.user_admin")
        customer = self.env["res.partner"].create(
            {
                "name": "Tour Strategic Customer",
                "is_company": True,
                "user_id": salesperson.id,
            }
        )
        product = self.env.ref("customer_tiering.demo_product_service")
        self.env["sale.order"].create(
            {
                "partner_id": customer.id,
                "order_line": [
                    Command.create({"product_id": product.id, "price_unit": 6_000_000})
                ],
            }
        ).action_confirm()
        profile = customer.customer_profile_id
        call = self.env.ref("customer_tiering.plan_strategic_call")
        self.assertEqual(profile.plan_id, call.plan_id)
        profile._engine().plan_start = (
            self.env.company._customer_tiering_today() - timedelta(days=1)
        )
        profile._schedule_followups()
        planned = profile.followup_ids.filtered(
            lambda a: a.customer_plan_line_id == call
        )
        self.assertEqual(planned.user_id, salesperson)
        self.start_tour(
            "/odoo", "customer_tiering_followup_tour", login="ct_tour_sales"
        )
        touch = profile.touch_ids
        self.assertEqual(
            (touch.plan_line_id, touch.outcome, touch.note, touch.user_id),
            (call, "positive", "Liked the trend report", salesperson),
        )
        following = profile.followup_ids.filtered(
            lambda a: a.customer_plan_line_id == call
        )
        self.assertEqual(following.date_deadline, touch.date + timedelta(weeks=1))

    def test_salesperson_sees_the_new_plan_at_once(self):
        """Issue 14: the confirmation that changes the tier schedules the new
        plan's follow-ups at once; completing one updates the form."""
        salesperson = new_test_user(
            self.env,
            login="ct_tour_day",
            groups="sales_team.group_sale_salesman",
            name="Tour Day Salesperson",
            # the company's day is the user's day, whatever the hour
            tz=self.env.company._customer_tiering_tz_name(),
        )
        self.env.company.customer_plan_default_user_id = self.env.ref("base.user_admin")
        customer = self.env["res.partner"].create(
            {"name": "Tour Day Customer", "is_company": True, "user_id": salesperson.id}
        )
        product = self.env.ref("customer_tiering.demo_product_service")
        order = self.env["sale.order"].create(
            {
                "partner_id": customer.id,
                "user_id": salesperson.id,
                "order_line": [
                    Command.create({"product_id": product.id, "price_unit": 6_000_000})
                ],
            }
        )
        self.start_tour(
            f"/odoo/sale.order/{order.id}",
            "customer_tiering_day_tour",
            login="ct_tour_day",
        )
        profile = customer.customer_profile_id
        call = self.env.ref("customer_tiering.plan_strategic_call")
        self.assertEqual(profile.plan_id, call.plan_id)
        self.assertEqual(profile.touch_ids.plan_line_id, call)
        self.assertEqual(
            profile.followup_ids.filtered(
                lambda a: a.customer_plan_line_id == call
            ).date_deadline,
            profile.touch_ids.date + timedelta(weeks=1),
        )

    def test_manager_cockpit(self):
        """Issue 13's acceptance: a sales manager opens the Key Accounts
        dashboard, drills into the at-risk customers, prints an account review
        and approves the demo salesperson's tier request."""
        manager = new_test_user(
            self.env,
            login="ct_tour_manager",
            groups="sales_team.group_sale_manager,"
            "customer_tiering.group_customer_tiering_manager",
            name="Tour Sales Manager",
            # the company's day is the user's day, whatever the hour
            tz=self.env.company._customer_tiering_tz_name(),
        )
        salesperson = self.env.ref("base.user_demo")
        partner = self.env.ref("customer_tiering.demo_partner_tianfu")
        standard = self.env.ref("customer_tiering.tier_c")
        potential = self.env.ref("customer_tiering.tier_b")
        self.assertEqual(partner.user_id, salesperson)
        self.assertEqual(partner.customer_health_band, "at_risk")
        self.assertEqual(partner.customer_tier_id, standard)
        until = fields.Date.today() + timedelta(days=90)
        request = (
            self.env["customer.tier.request"]
            .with_user(salesperson)
            .create(
                {
                    "partner_id": partner.id,
                    "requested_tier_id": potential.id,
                    "reason": "Tour: reference project in Chengdu",
                    "until": until,
                }
            )
        )
        request.action_submit()
        self.assertEqual(request.state, "submitted")
        self.assertIn(manager, request.activity_ids.user_id)

        self.start_tour(
            "/odoo", "customer_tiering_manager_cockpit_tour", login=manager.login
        )

        request.invalidate_recordset()
        partner.invalidate_recordset()
        self.assertEqual(request.state, "approved")
        self.assertEqual(request.reviewed_by, manager)
        self.assertEqual(request.requested_by, salesperson)
        self.assertFalse(request.activity_ids)
        profile = partner.customer_profile_id
        self.assertEqual(partner.customer_tier_id, potential)
        self.assertEqual(profile.override_tier_id, potential)
        self.assertEqual(profile.override_until, until)
        self.assertEqual(profile.override_user_id, manager)
        self.assertEqual(
            profile.override_reason,
            "Tour: reference project in Chengdu (tier review requested by Marc Demo)",
        )
        history = request.history_id
        self.assertEqual(
            (history.profile_id, history.cause, history.to_tier_id, history.user_id),
            (profile, "override_set", potential, manager),
        )
        self.assertIn(
            salesperson.partner_id,
            request.message_ids.filtered(
                lambda m: "was approved by Tour Sales Manager" in (m.body or "")
            ).partner_ids,
        )

    def test_manager_backtests_and_applies_a_draft(self):
        """Issue 12's acceptance: a tiering manager (not an administrator)
        starts a backtest, waits for it on the form (no reload: the bus tells
        the form), asks for suggested weights, compares a draft scorecard and
        applies it."""
        manager = new_test_user(
            self.env,
            login="ct_tour_backtester",
            groups="sales_team.group_sale_manager,"
            "customer_tiering.group_customer_tiering_manager",
            name="Tour Backtester",
            # the company's day is the user's day, whatever the hour
            tz=self.env.company._customer_tiering_tz_name(),
        )
        self.assertFalse(manager.has_group("base.group_system"))
        company = self.env.company
        Dimension = self.env["customer.health.dimension"]
        recency = Dimension.search(
            [("company_id", "=", company.id), ("key", "=", "recency")]
        )
        self.assertEqual(
            (recency.weight, recency.good, recency.bad, recency.enabled),
            (15, 30, 180, True),
        )
        others = {
            line.key: line.weight
            for line in Dimension.search([("company_id", "=", company.id)])
            if line != recency
        }
        # The tour's notes wake the scheduler (no cursor is touched before:
        # the test's own thread uses it until the browser runs the tour).
        go, stop = threading.Semaphore(0), threading.Event()
        Backtest = self.registry["customer.health.backtest"]
        message_post = Backtest.message_post

        def post_and_wake(record, *args, **kwargs):
            message = message_post(record, *args, **kwargs)
            if SCHEDULER_GO in str(kwargs.get("body", "")):
                go.release()
            return message

        self.patch(Backtest, "message_post", post_and_wake)
        scheduler = threading.Thread(target=self._scheduler, args=(go, stop))
        scheduler.start()
        try:
            self.start_tour(
                "/odoo",
                "customer_tiering_backtest_tour",
                login=manager.login,
                timeout=240,  # two runs and a weight search on a shared machine
            )
        finally:
            stop.set()
            scheduler.join()
        self.assertFalse(getattr(self, "scheduler_error", None))
        Backtest = self.env["customer.health.backtest"]
        live = Backtest.search([("name", "=", "Tour backtest")])
        draft = Backtest.search([("name", "=", "Tour backtest (draft)")])
        self.assertEqual(
            (live.state, live.scorecard, live.create_uid), ("done", "live", manager)
        )
        self.assertEqual((draft.state, draft.compare_with_id), ("done", live))
        self.assertGreater(live.evaluated_count, 0)
        self.assertEqual(live.suggest_state, "done")
        self.assertEqual(live.suggested_id.compare_with_id, live)
        # Applied: the live scorecard has the draft's weight, the rest kept.
        recency.invalidate_recordset()
        self.assertEqual(recency.weight, 55)
        self.assertEqual(
            {
                line.key: line.weight
                for line in Dimension.search([("company_id", "=", company.id)])
                if line != recency
            },
            others,
        )
        note = draft.message_ids.filtered(
            lambda m: "Draft applied to the live scorecard" in (m.body or "")
        )
        self.assertEqual(note.author_id, manager.partner_id)
        self.assertIn("weight 15, 100 at 30, 0 at 180 → weight 55", note.body)

    def _scheduler(self, go, stop):
        """The scheduler, in the test: one pass of the backtest cron for each
        note the tour logs, in the test's transaction (a test cursor, taken
        in turn with the requests), then the bus notification its commit
        would send (a test cursor drops the post-commit hooks)."""
        threading.current_thread().testing = True  # no commit in the cron
        try:
            while not stop.is_set():
                if not go.acquire(timeout=0.3):
                    continue
                with self.registry.cursor() as cr:
                    env = api.Environment(cr, SUPERUSER_ID, {})
                    env["customer.health.backtest"]._cron_run_backtests()
                    channels = list(cr.postcommit.data.get("bus.bus.channels", ()))
                with odoo.sql_db.db_connect("postgres").cursor() as pg:
                    for payload in get_notify_payloads(channels):
                        pg.execute(
                            SQL(
                                "SELECT %s('imbus', %s)",
                                SQL.identifier(ODOO_NOTIFY_FUNCTION),
                                payload,
                            )
                        )
        except Exception as error:  # pylint: disable=broad-except
            self.scheduler_error = error
            raise
