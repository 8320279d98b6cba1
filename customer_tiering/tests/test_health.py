# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from datetime import timedelta
from unittest.mock import patch

from dateutil.relativedelta import relativedelta

from odoo import Command, fields
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import tagged

from ..engine import health, refresh
from .common import TieringCase


class HealthCase(TieringCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company.write(
            {
                "customer_health_healthy_min": 70,
                "customer_health_watch_min": 40,
                "customer_health_drop_points": 15,
                "customer_health_review_max_age": 180,
                "customer_health_user_id": False,
            }
        )
        cls.customer.user_id = cls.salesman
        cls.today = fields.Date.context_today(cls.customer)
        cls.risk_type = cls.env.ref("customer_tiering.mail_activity_type_health_risk")

    def dims(self, partner=None):
        """``{key: (raw, subscore)}`` of the customer's last evaluation."""
        rows = self.profile(partner)._health_contributions()
        return {key: (raw, round(sub, 1)) for key, raw, sub, *__ in rows}

    def missing(self, partner=None):
        return set(refresh.missing_of(self.profile(partner).health_data))

    def warnings(self, partner=None):
        return self.env["mail.activity"].search(
            [
                ("res_model", "=", "res.partner"),
                ("res_id", "=", (partner or self.customer).id),
                ("activity_type_id", "=", self.risk_type.id),
            ]
        )

    def activity(self, partner, days_from_today):
        # One create per activity: mail subscribes the user once per call.
        return self.env["mail.activity"].create(
            {
                "res_model_id": self.env["ir.model"]._get_id("res.partner"),
                "res_id": partner.id,
                "activity_type_id": self.env.ref("mail.mail_activity_data_todo").id,
                "user_id": self.salesman.id,
                "date_deadline": self.today + timedelta(days=days_from_today),
            }
        )

    def invoice(self, amount, days_ago, due_in):
        move = self.env["account.move"].create(
            {
                "move_type": "out_invoice",
                "partner_id": self.contact.id,
                "invoice_date": self.today - timedelta(days=days_ago),
                "invoice_date_due": self.today + timedelta(days=due_in),
                "invoice_line_ids": [
                    Command.create(
                        {"name": "Service", "price_unit": amount, "tax_ids": False}
                    )
                ],
            }
        )
        move.action_post()
        return move

    def review(self, user=None, days_ago=0, **scores):
        Review = self.env["customer.account.review"]
        if user:
            Review = Review.with_user(user)
        return Review.create(
            {
                "partner_id": self.customer.id,
                "date": self.today - timedelta(days=days_ago),
                **{key: str(value) for key, value in scores.items()},
            }
        )


@tagged("post_install", "-at_install")
class TestHealthDimensions(HealthCase):
    def test_orders_recency_frequency_revenue(self):
        self.make_order(self.customer, 300_000, days_ago=100)
        self.make_order(self.customer, 600_000, days_ago=250)
        self.make_order(self.customer, 1_000_000, days_ago=500)
        self.refresh()
        dims = self.dims()
        self.assertEqual(dims["recency"][0], 100)
        self.assertAlmostEqual(dims["recency"][1], 53.3, places=1)  # 30..180 days
        self.assertEqual(dims["frequency"], (0.0, 100.0), "1 order vs 1 before")
        self.assertEqual(dims["revenue_trend"], (-10.0, 50.0), "900k vs 1M")
        self.assertEqual(dims["overdue_activities"], (0.0, 100.0))
        self.assertIn("payment_overdue", self.missing(), "never invoiced")
        self.assertIn("engagement", self.missing(), "no maintenance plan")
        self.assertIn("satisfaction", self.missing(), "no account review")
        profile = self.profile()
        # (53.3 * 15 + 100 * 10 + 50 * 15 + 100 * 5) / 45
        self.assertAlmostEqual(profile.health_score, 67.8, places=1)
        self.assertEqual(profile.health_band, "watch")
        self.assertIn("No order for 100 days", profile.health_reasons)
        self.assertIn("Not counted for lack of data", profile.health_reasons)
        self.assertIn("Purchase recency", profile.health_breakdown)
        self.assertEqual(self.customer.customer_health_score, 67.8)
        self.assertEqual(self.customer.customer_health_band, "watch")

    def test_payment_behaviour_with_partial_payment(self):
        self.make_order(self.customer, 100_000)
        late = self.invoice(1000, days_ago=70, due_in=-40)
        self.invoice(900, days_ago=5, due_in=10)
        paid = self.invoice(5000, days_ago=30, due_in=-5)
        for move, amount in ((late, 400), (paid, 5000)):
            self.env["account.payment.register"].with_context(
                active_model="account.move", active_ids=move.ids
            ).create({"amount": amount})._create_payments()
        self.assertEqual(late.amount_residual, 600)
        self.assertEqual(paid.payment_state, "paid")
        self.refresh()
        dims = self.dims()
        # 600 of 1,500 open is overdue, by 40 days.
        self.assertAlmostEqual(dims["payment_overdue"][0], 40.0)
        self.assertAlmostEqual(dims["payment_overdue"][1], 20.0)  # 0 % .. 50 %
        self.assertEqual(dims["payment_delay"][0], 40.0)
        self.assertIn("40 % of receivables overdue", self.profile().health_reasons)

    def test_paid_invoices_count_as_good_payment(self):
        self.make_order(self.customer, 100_000)
        move = self.invoice(1000, days_ago=30, due_in=-10)
        self.env["account.payment.register"].with_context(
            active_model="account.move", active_ids=move.ids
        ).create({})._create_payments()
        self.refresh()
        self.assertEqual(self.dims()["payment_overdue"], (0.0, 100.0))
        self.assertEqual(self.dims()["payment_delay"], (0.0, 100.0))

    def test_overdue_activities_on_customer_and_contacts(self):
        self.make_order(self.customer, 100_000)
        self.activity(self.contact, -3)
        self.activity(self.customer, -1)
        self.activity(self.customer, 2)  # not overdue
        self.refresh()
        self.assertEqual(self.dims()["overdue_activities"], (2.0, 60.0))

    def test_engagement_comes_from_its_source(self):
        self.make_order(self.customer, 100_000)
        self.refresh()
        self.assertIn("engagement", self.missing())
        Profile = type(self.env["customer.profile"])
        with patch.object(
            Profile,
            "_gather_engagement",
            lambda profiles, scope: {self.customer.id: {"engagement": 65.0}},
        ):
            self.refresh()
        self.assertEqual(self.dims()["engagement"], (65.0, 50.0))  # 40 %..90 %

    def test_review_counts_at_once_latest_only_and_expires(self):
        self.make_order(self.customer, 100_000)
        score_before = self.profile().health_score
        self.review(self.salesman, days_ago=30, satisfaction=5, needs_met=5)
        self.review(self.salesman, days_ago=10, satisfaction=2)
        dims = self.dims()
        self.assertEqual(dims["satisfaction"], (2.0, 25.0), "latest review")
        self.assertNotIn("needs_met", dims, "only the latest review counts")
        self.assertLess(self.profile().health_score, score_before)
        self.assertIn(
            "Satisfaction 2/5 at the review of", self.profile().health_reasons
        )
        # 180 days old still counts, 181 days old does not.
        self.refresh(today=self.today + timedelta(days=170))
        self.assertIn("satisfaction", self.dims())
        self.refresh(today=self.today + timedelta(days=171))
        self.assertIn("satisfaction", self.missing())

    def test_review_of_a_contact_is_for_the_company(self):
        review = self.env["customer.account.review"].create(
            {"partner_id": self.contact.id, "satisfaction": "4"}
        )
        self.assertEqual(review.partner_id, self.customer)
        self.assertEqual(self.dims()["satisfaction"], (4.0, 75.0))
        with self.assertRaises(ValidationError):
            self.review(days_ago=-1, satisfaction=3)
        with self.assertRaises(ValidationError):
            self.review()  # no score at all

    def test_review_write_and_unlink_rescore(self):
        self.make_order(self.customer, 100_000)
        review = self.review(satisfaction=1)
        self.assertEqual(self.dims()["satisfaction"][0], 1.0)
        review.satisfaction = "5"
        self.assertEqual(self.dims()["satisfaction"][0], 5.0)
        review.unlink()
        self.assertIn("satisfaction", self.missing())

    def test_negative_touches_lower_the_score_with_a_reason(self):
        Dimension = self.env["customer.health.dimension"]
        Dimension._ensure_scorecards(self.company)
        line = Dimension.search(
            [("company_id", "=", self.company.id), ("key", "=", "negative_feedback")]
        )
        # On in new databases; an upgraded database has it off until a
        # manager turns it on.
        line.write({"enabled": True, "weight": 5})
        self.make_order(self.customer, 300_000, days_ago=100)
        self.refresh()
        profile = self.profile()
        before = profile.health_score
        self.assertIn("negative_feedback", self.missing(), "no touch yet")

        def touch(outcome, days_ago, **values):
            self.env["customer.touch"].create(
                {
                    "profile_id": profile.id,
                    "partner_id": self.customer.id,
                    "company_id": self.company.id,
                    "date": self.today - timedelta(days=days_ago),
                    "outcome": outcome,
                    **values,
                }
            )

        for outcome, days_ago in (
            ("negative", 10),
            ("negative", 20),
            ("positive", 30),
            (False, 89),
        ):
            touch(outcome, days_ago)
        touch("negative", 90)  # out of the last 90 days
        touch("negative", 5, state="missed")  # did not happen
        touch("negative", 5, automated=True)  # an automated e-mail
        self.refresh()
        self.assertEqual(self.dims()["negative_feedback"], (50.0, 0.0), "2 of 4")
        self.assertLess(profile.health_score, before)
        self.assertIn(
            "50 % of the touches of the last 90 days had a negative outcome",
            profile.health_reasons,
        )
        self.assertIn("Negative feedback", profile.health_breakdown)


@tagged("post_install", "-at_install")
class TestHealthHistoryAndWarnings(HealthCase):
    def test_partner_written_only_when_the_band_changes(self):
        def row_version():
            self.env.flush_all()
            self.env.cr.execute(
                "SELECT ctid FROM res_partner WHERE id = %s", [self.customer.id]
            )
            return self.env.cr.fetchone()[0]

        self.make_order(self.customer, 100_000)
        self.refresh()
        before = row_version()
        score = self.profile().health_score
        self.refresh()
        self.assertEqual(row_version(), before, "unchanged: res_partner not written")
        # A lower score in the same band: on the profile (which the partner's
        # score reads), not written to res_partner.
        self.review(satisfaction=4)
        self.assertLess(self.profile().health_score, score)
        self.assertEqual(self.profile().health_band, "healthy")
        self.assertEqual(row_version(), before)
        self.assertEqual(
            self.customer.customer_health_score, self.profile().health_score
        )
        # A band change is written to the partner (users group by it).
        self.company.customer_health_healthy_min = 99
        self.refresh()
        self.assertEqual(self.customer.customer_health_band, "watch")
        self.assertNotEqual(row_version(), before)
        other = self.env["res.company"].create({"name": "Health Other Company"})
        self.assertFalse(self.customer.with_company(other).customer_health_band)
        self.assertEqual(
            self.env["customer.health.dimension"].search_count(
                [("company_id", "=", other.id)]
            ),
            len(health.DIMENSIONS),
            "a new company gets the shipped scorecard",
        )

    def test_entering_at_risk_snapshots_and_warns_once(self):
        self.make_order(self.customer, 100_000)
        profile = self.profile()
        self.assertEqual(profile.health_band, "healthy")
        self.assertEqual(profile.health_snapshot_ids.mapped("reason"), ["monthly"])
        # Cached in the language of the note: must not go stale.
        en_profile = profile.with_context(lang=self.salesman.lang)
        self.assertNotIn("No order for", en_profile.health_reasons)
        later = self.today + timedelta(days=400)
        self.refresh(today=later)
        self.assertEqual(profile.health_band, "at_risk")
        band_change = profile.health_snapshot_ids.filtered(lambda s: s.reason == "band")
        self.assertEqual(band_change.band, "at_risk")
        self.assertEqual(band_change.date, later)
        self.assertEqual(band_change.tier_id, self.tier_c)
        warning = self.warnings()
        self.assertEqual(len(warning), 1)
        self.assertEqual(warning.user_id, self.salesman)
        self.assertEqual(warning.date_deadline, later + timedelta(days=14), "tier C")
        self.assertIn("entered the at-risk band", warning.note)
        # On the partner, which other companies may share: the company is
        # named, the reasons stay on the profile's Health tab.
        self.assertIn(self.company.name, warning.note)
        self.assertNotIn("No order for", warning.note)
        self.assertIn("No order for 400 days", profile.health_reasons)
        self.assertEqual(profile.health_warned_on, later)
        # No second warning while one is open, nor once it is done and the
        # customer simply stays at risk.
        self.refresh(today=later)
        self.assertEqual(len(self.warnings()), 1)
        warning.action_feedback(feedback="Called them")
        self.refresh(today=later)
        self.assertFalse(self.warnings())
        self.assertEqual(len(profile.health_snapshot_ids), 2, "no new band or month")

    def test_drop_warns_and_key_accounts_notify_the_team_leader(self):
        team = self.env["crm.team"].create(
            {"name": "Key Accounts", "user_id": self.manager.id}
        )
        self.env["crm.team.member"].create(
            {"crm_team_id": team.id, "user_id": self.salesman.id}
        )
        self.make_order(self.customer, 6_000_000)
        self.assertEqual(self.tier_of(), self.tier_s)
        self.assertEqual(self.profile().health_band, "healthy")
        self.review(satisfaction=1, needs_met=1, relationship=1)
        profile = self.profile()
        self.assertEqual(profile.health_band, "watch", "not at risk: a drop")
        warning = self.warnings()
        self.assertEqual(len(warning), 1)
        self.assertIn("fell sharply", warning.note)
        self.assertNotIn("100.0", warning.note, "no score on the shared partner")
        self.assertEqual(warning.date_deadline, self.today + timedelta(days=1))
        message = self.customer.message_ids.filtered(
            lambda m: self.manager.partner_id in m.partner_ids
        )
        self.assertEqual(len(message), 1, "the team leader of an S customer")
        self.assertIn(self.company.name, message.body)
        self.assertNotIn("Satisfaction", message.body, "no reason either")
        self.assertIn("Satisfaction 1/5", profile.health_reasons)
        # Done, but the same drop is still visible: no repeat within 30 days.
        warning.action_feedback()
        self.refresh()
        self.assertFalse(self.warnings())

    def test_no_responsible_no_warning_but_default_user(self):
        later = self.today + timedelta(days=400)
        other = self.env["res.partner"].create({"name": "Nobody's", "is_company": True})
        self.customer.user_id = False
        for partner in (self.customer, other):
            self.make_order(partner, 100_000)
        with self.assertLogs("odoo.addons.customer_tiering", "WARNING") as logs:
            self.refresh(today=later)
        self.assertIn("no one to follow up", logs.output[0])
        self.assertFalse(self.warnings())
        self.assertFalse(self.profile().health_warned_on)
        self.company.customer_health_user_id = self.manager
        self.refresh(today=later, partner=other)
        self.assertEqual(self.warnings(other).user_id, self.manager)

    def test_trend_against_about_30_days_earlier(self):
        self.make_order(self.customer, 100_000, days_ago=10)
        profile = self.profile()
        self.assertFalse(profile.health_trend, "no history yet")
        for _index in range(5):
            self.activity(self.customer, 1)
        self.refresh()
        self.assertEqual(profile.health_score, 100.0)
        self.refresh(today=self.today + timedelta(days=30))
        # Recency 40 days (93.3) and 5 overdue activities (0):
        # (93.3 * 15 + 100 * 10 + 100 * 15 + 0 * 5) / 45 = 86.7
        self.assertAlmostEqual(profile.health_score, 86.7, places=1)
        self.assertAlmostEqual(profile.health_trend, -13.3, places=1)
        self.assertEqual(profile.health_band, "healthy")
        self.assertFalse(self.warnings(), "13.3 points lost: under the 15 of a drop")
        partners = self.env["res.partner"].search(
            [("customer_health_trend", "<=", -10), ("id", "=", self.customer.id)]
        )
        self.assertEqual(partners, self.customer, "the Falling filter")

    def test_snapshots_bounded_over_a_simulated_year(self):
        """A year of nightly runs (twice on Sundays) keeps at most one snapshot
        a month plus one per band change."""
        self.make_order(self.customer, 200_000)
        self.review(satisfaction=5, needs_met=5)
        start = self.today + relativedelta(day=1, months=1)
        profile = self.profile()
        band, changes, months = profile.health_band, 0, set()
        for offset in range(365):
            day = start + timedelta(days=offset)
            months.add((day.year, day.month))
            for _run in range(2 if day.weekday() == 6 else 1):
                self.refresh(today=day)
            if profile.health_band != band:
                changes += 1
                band = profile.health_band
        self.assertGreaterEqual(changes, 2, "the customer drifted through bands")
        snapshots = profile.health_snapshot_ids.filtered(lambda s: s.date >= start)
        self.assertEqual(len(months), 12)
        self.assertLessEqual(len(snapshots), 12 + changes)
        self.assertEqual(len(snapshots.filtered(lambda s: s.reason == "band")), changes)
        self.assertEqual({(s.date.year, s.date.month) for s in snapshots}, months)

    def test_partner_score_comes_from_the_profile_and_is_searchable(self):
        self.make_order(self.customer, 100_000, days_ago=400)
        self.refresh()
        score = self.profile().health_score
        self.assertEqual(self.customer.customer_health_score, score)
        self.assertEqual(self.contact.customer_health_score, score)
        Partner = self.env["res.partner"]
        below = Partner.search([("customer_health_score", "<", score + 0.1)])
        above = Partner.search([("customer_health_score", ">", score + 0.1)])
        self.assertIn(self.customer, below)
        self.assertNotIn(self.customer, above)
        # Another company has no profile of this customer: no score there.
        other = self.env["res.company"].create({"name": "Other Tiering Co"})
        self.assertFalse(self.customer.with_company(other).customer_health_score)


@tagged("post_install", "-at_install")
class TestHealthConfig(HealthCase):
    def test_scorecard_rules_and_rights(self):
        Dimension = self.env["customer.health.dimension"]
        Dimension._ensure_scorecards(self.company)
        lines = Dimension.search([("company_id", "=", self.company.id)])
        self.assertEqual(len(lines), len(health.DIMENSIONS))
        self.assertEqual(sum(lines.mapped("weight")), 100)
        recency = lines.filtered(lambda line: line.key == "recency")
        self.assertEqual((recency.good, recency.bad), (30, 180))
        with self.assertRaises(AccessError):
            recency.with_user(self.salesman).weight = 50
        self.company.customer_tiering_run_start = False
        recency.with_user(self.manager).weight = 20
        self.assertEqual(self.company.customer_tiering_run_reason, "config")
        self.assertTrue(self.company.customer_tiering_run_start)
        with self.assertRaises(ValidationError) as caught:
            recency.write({"good": 200})
        self.assertIn("wrong order", str(caught.exception))
        with self.assertRaises(ValidationError) as caught:
            lines.write({"enabled": False})
        self.assertIn("at least one enabled", str(caught.exception))
        with self.assertRaises(ValidationError):
            recency.weight = -1
        with self.assertRaises(UserError):
            recency.unlink()

    def test_review_rights(self):
        own = self.review(self.salesman, satisfaction=3)
        own.with_user(self.salesman).satisfaction = "4"
        theirs = self.review(self.manager, satisfaction=3)
        with self.assertRaises(AccessError):
            theirs.with_user(self.salesman).satisfaction = "1"
        theirs.with_user(self.manager).satisfaction = "2"
        own.with_user(self.manager).unlink()
        self.assertTrue(self.profile().with_user(self.salesman).health_reasons)
        with self.assertRaises(AccessError):
            self.profile().with_user(self.salesman).write({"health_score": 100})

    def test_band_settings(self):
        self.make_order(self.customer, 100_000, days_ago=120)
        self.refresh()
        self.assertEqual(self.profile().health_band, "healthy")
        self.company.customer_tiering_run_start = False
        self.company.customer_health_healthy_min = 95
        self.assertTrue(self.company.customer_tiering_run_start, "full refresh asked")
        self.env["customer.profile"]._cron_refresh()
        self.assertEqual(self.profile().health_band, "watch")
        with self.assertRaises(ValidationError):
            self.company.customer_health_watch_min = 96
        with self.assertRaises(ValidationError):
            self.company.customer_health_review_max_age = 0


@tagged("post_install", "-at_install")
class TestConfirmQuickPath(HealthCase):
    """A confirmed order re-evaluates its customer through the pipeline with a
    smaller gather (its state and orders read afresh, the other facts from
    its explanation of today); the profile must be what a fresh nightly
    evaluation of that customer gives."""

    FIGURES = (
        "revenue",
        "revenue_prev",
        "growth",
        "order_count",
        "order_count_prev",
        "lifetime_revenue",
        "last_order_date",
        "computed_tier_id",
        "tier_id",
        "health_score",
        "health_band",
        "health_trend",
    )

    def figures(self):
        profile = self.profile()
        profile.invalidate_recordset()
        values = {name: profile[name] for name in self.FIGURES}
        values["raw"] = profile.health_data["raw"]
        values["partner"] = (
            self.customer.customer_health_score,
            self.customer.customer_health_band,
            self.tier_of(),
        )
        return values

    def confirm(self, amount):
        """Confirm an order of ``amount``; True when the quick path took it."""
        order = self.make_order(self.customer, amount, confirm=False)
        Profile = type(self.env["customer.profile"])
        original = Profile._refresh_after_confirm
        taken = []
        with patch.object(
            Profile,
            "_refresh_after_confirm",
            lambda profile, order: taken.append(original(profile, order)) or taken[-1],
        ):
            order.action_confirm()
        self.assertEqual(len(taken), 1)
        return taken[0]

    def setUp(self):
        super().setUp()
        # The order lifts the score from about 66 to 76: it stays in "watch".
        self.company.customer_health_healthy_min = 90
        self.make_order(self.customer, 300_000, days_ago=5)
        self.make_order(self.customer, 600_000, days_ago=250)
        self.make_order(self.customer, 1_000_000, days_ago=500)
        self.invoice(1000, days_ago=70, due_in=-40)
        self.invoice(900, days_ago=5, due_in=10)
        self.review(self.salesman, days_ago=10, satisfaction=4, needs_met=3)
        self.refresh(today=self.today - timedelta(days=30))
        self.refresh()

    def test_confirm_equals_a_fresh_nightly_evaluation(self):
        band = self.profile().health_band
        self.assertTrue(self.confirm(1_200_000))
        confirmed = self.figures()
        self.assertEqual(confirmed["order_count"], 2)
        self.assertEqual(confirmed["last_order_date"], self.today)
        self.assertEqual(confirmed["tier_id"], self.tier_a)  # upgraded at once
        self.assertEqual(confirmed["health_band"], band)
        self.assertIsNotNone(confirmed["health_trend"])
        history = self.profile().history_ids.sorted("id")
        self.assertEqual(history[-1].cause, "computed_up")
        self.assertEqual(history[-1].to_tier_id, self.tier_a)
        # The nightly refresh of that customer finds nothing to change.
        self.env["customer.profile"]._request_full_refresh(reason="manual")
        self.env["customer.profile"]._cron_refresh()
        self.assertEqual(self.figures(), confirmed)
        self.assertEqual(self.profile().history_ids.sorted("id"), history)

    def test_confirm_in_the_transaction_of_the_evaluation(self):
        # The profile was evaluated in this transaction (setUp): the orders
        # are read afresh, so two orders in a row count once each.
        self.assertTrue(self.confirm(50_000))
        self.assertTrue(self.confirm(60_000))
        self.assertEqual(self.profile().order_count, 3)
        confirmed = self.figures()
        self.refresh()
        self.assertEqual(self.figures(), confirmed)

    def test_full_evaluation_when_figures_are_not_from_today(self):
        self.refresh(today=self.today - timedelta(days=1))
        self.assertFalse(self.confirm(50_000))
        self.assertEqual(self.profile().evaluated_on, self.today)
        self.assertEqual(self.profile().order_count, 2)

    def test_band_change_takes_a_snapshot_as_the_full_evaluation_does(self):
        self.company.customer_health_healthy_min = 70
        self.refresh()
        self.assertEqual(self.profile().health_band, "watch")
        snapshots = self.profile().health_snapshot_ids
        self.assertTrue(self.confirm(1_200_000))
        quick = self.figures()
        self.assertEqual(quick["health_band"], "healthy")
        # one snapshot a day: today's follows the band change (issue 14)
        self.assertEqual(self.profile().health_snapshot_ids, snapshots)
        new = snapshots.filtered(lambda s: s.date == fields.Date.context_today(s))
        self.assertEqual(new.mapped("reason"), ["band"])
        self.assertEqual(new.score, quick["health_score"])
        self.assertEqual(new.tier_id, self.tier_a)
        self.refresh()
        self.assertEqual(self.figures(), quick)
        self.assertEqual(self.profile().health_snapshot_ids, snapshots)
        self.assertEqual(new.score, quick["health_score"])
