# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from datetime import datetime, time, timedelta

from freezegun import freeze_time

from odoo import Command
from odoo.exceptions import UserError
from odoo.tests import tagged

from .test_health import HealthCase

FIGURES = (
    "tier_code",
    "computed_tier_code",
    "revenue",
    "revenue_prev",
    "growth",
    "order_count",
    "order_count_prev",
    "lifetime_revenue",
    "last_order_date",
    "health_score",
    "health_band",
)


@tagged("post_install", "-at_install")
class TestEvaluateAsOf(HealthCase):
    """``customer.profile.evaluate_as_of``: a past day evaluated from what
    existed then equals what the nightly refresh computed that day."""

    def figures_of_profile(self):
        profile = self.profile()
        profile.invalidate_recordset()
        return {
            "tier_code": profile.tier_id.code,
            "computed_tier_code": profile.computed_tier_id.code,
            "revenue": profile.revenue,
            "revenue_prev": profile.revenue_prev,
            "growth": profile.growth or None,
            "order_count": profile.order_count,
            "order_count_prev": profile.order_count_prev,
            "lifetime_revenue": profile.lifetime_revenue,
            "last_order_date": profile.last_order_date,
            "health_score": profile.health_score,
            "health_band": profile.health_band,
            "raw": profile.health_data["raw"],
        }

    def evaluated(self, day, partners=None):
        (result,) = self.env["customer.profile"].evaluate_as_of(
            partners or self.customer, day
        )
        values = {name: result[name] for name in FIGURES}
        values["growth"] = values["growth"] or None
        values["raw"] = result["raw"]
        return values, result

    def invoice_on(self, amount, day, due):
        move = self.env["account.move"].create(
            {
                "move_type": "out_invoice",
                "partner_id": self.contact.id,
                "invoice_date": day,
                "invoice_date_due": due,
                "invoice_line_ids": [
                    Command.create(
                        {"name": "Service", "price_unit": amount, "tax_ids": False}
                    )
                ],
            }
        )
        move.action_post()
        return move

    def pay(self, move, day):
        self.env["account.payment.register"].with_context(
            active_model="account.move", active_ids=move.ids
        ).create({"payment_date": day})._create_payments()
        self.assertEqual(move.payment_state, "paid")

    def touch_on(self, day, outcome):
        profile = self.profile()
        return self.env["customer.touch"].create(
            {
                "profile_id": profile.id,
                "partner_id": self.customer.id,
                "company_id": self.company.id,
                "tier_id": profile.tier_id.id,
                "activity_type_id": self.env.ref("mail.mail_activity_data_call").id,
                "summary": "Call",
                "date": day,
                "deadline": day,
                "state": "done",
                "outcome": outcome,
            }
        )

    def review_on(self, day, **scores):
        return self.env["customer.account.review"].create(
            {
                "partner_id": self.customer.id,
                "date": day,
                **{key: str(value) for key, value in scores.items()},
            }
        )

    def test_ninety_days_ago_equals_that_nights_refresh(self):
        day = self.today - timedelta(days=90)
        before = day - timedelta(days=20)
        with freeze_time(datetime.combine(before, time(12))):
            # What existed 90 days ago, recorded in the weeks before...
            self.make_order(self.customer, 300_000, days_ago=10)
            self.make_order(self.customer, 600_000, days_ago=180)
            self.make_order(self.customer, 1_000_000, days_ago=380)
            late = self.invoice_on(1000, day - timedelta(days=40), day - timedelta(10))
            due = self.invoice_on(900, day - timedelta(days=20), day + timedelta(20))
            self.touch_on(day - timedelta(days=20), "negative")
            self.touch_on(day - timedelta(days=30), "positive")
        with freeze_time(datetime.combine(day - timedelta(days=15), time(12))):
            self.review_on(day - timedelta(days=15), satisfaction=2, needs_met=3)
        with freeze_time(datetime.combine(day, time(3))):
            # ...and that night's refresh.
            Profile = self.env["customer.profile"]
            Profile._request_full_refresh(reason="manual")
            Profile._cron_refresh()
            that_night = self.figures_of_profile()
        self.assertEqual(that_night["raw"]["payment_overdue"], 1000 / 1900 * 100)
        self.assertEqual(that_night["raw"]["negative_feedback"], 50.0)
        self.assertEqual(that_night["raw"]["satisfaction"], 2.0)
        # What happened since: both invoices paid late, more orders, touches
        # and a better review, and nightly refreshes.
        self.pay(late, day + timedelta(days=30))
        self.pay(due, day + timedelta(days=40))
        self.make_order(self.customer, 2_000_000, days_ago=20)
        self.make_order(self.customer, 50_000, days_ago=60)
        self.touch_on(self.today - timedelta(days=5), "negative")
        self.touch_on(day + timedelta(days=1), "positive")
        self.review_on(self.today - timedelta(days=2), satisfaction=5, needs_met=5)
        self.refresh()
        self.assertNotEqual(self.figures_of_profile(), that_night, "things moved")
        # Evaluated as of that day, the customer is what it was.
        values, result = self.evaluated(day)
        self.assertEqual(values, that_night)
        self.assertEqual(result["partner_id"], self.customer.id)
        self.assertEqual(result["company_id"], self.company.id)
        self.assertEqual(result["as_of"], day)
        self.assertTrue(result["reasons"])
        self.assertTrue(all(isinstance(text, str) for text in result["reasons"]))
        # Today, it is what the profile holds.
        values, __ = self.evaluated(self.today)
        self.assertEqual(values, self.figures_of_profile())

    def test_days_read_ahead_equal_each_day_read_alone(self):
        """The backtest reads the days ahead with the first (``Scope.memo``,
        ``_gather_days``): each day's gather then equals that day read
        alone, through orders, a partial payment, a second invoice and the
        payments that settle both, an activity left open and a follow-up
        done late."""
        start = self.today - timedelta(days=200)
        first = self.invoice_on(1000, start, start + timedelta(days=30))
        second = self.invoice_on(
            500, start + timedelta(days=50), start + timedelta(days=80)
        )
        self.env["account.payment.register"].with_context(
            active_model="account.move", active_ids=first.ids
        ).create(
            {"payment_date": start + timedelta(days=60), "amount": 400}
        )._create_payments()
        self.assertEqual(first.payment_state, "partial")
        self.pay(second, start + timedelta(days=100))
        self.pay(first, start + timedelta(days=120))
        for amount, days_ago in ((300, 195), (700, 140), (900, 75)):
            self.make_order(self.customer, amount, days_ago=days_ago)
        self.refresh()
        self.activity(self.contact, -145)  # due on day 55, still open
        late = self.touch_on(start + timedelta(days=100), "positive")
        late.deadline = start + timedelta(days=50)  # done 50 days late
        days = [start + timedelta(days=n) for n in (10, 55, 65, 90, 110, 130, 190)]
        Profile = self.env["customer.profile"]
        profile_of = {self.customer.id: self.profile().id or None}
        memo, ahead, alone = {}, [], []
        for index, day in enumerate(days):
            scope = Profile._gather_scope(
                self.company, day, profile_of, ahead=days[index + 1 :], memo=memo
            )
            (customer,) = Profile._gather(scope)
            ahead.append(customer)
            alone.extend(
                Profile._gather(Profile._gather_scope(self.company, day, profile_of))
            )
        self.assertEqual(ahead, alone)
        facts = [customer.facts for customer in alone]
        self.assertEqual(
            [fact.receivable for fact in facts], [1000, 1500, 1100, 1100, 600, 0, 0]
        )
        # Overdue on day 65: what is left of the first invoice, 35 days late.
        self.assertEqual(facts[2].overdue, 600)
        self.assertEqual(facts[2].overdue_days, 35)
        self.assertEqual(
            [fact.overdue_activities for fact in facts], [0, 1, 2, 2, 1, 1, 1]
        )
        self.assertEqual(
            [fact.lifetime for fact in facts], [300, 300, 1000, 1000, 1000, 1900, 1900]
        )
        self.assertEqual(facts[-1].last_order_date, self.today - timedelta(days=75))
        for source in ("payments", "orders", "activities"):
            self.assertEqual(set(memo[source]), {days[-1]}, "evaluated days dropped")

    def test_writes_nothing_and_evaluates_customers_without_profile(self):
        newcomer = self.env["res.partner"].create(
            {"name": "Newcomer", "is_company": True}
        )
        self.make_order(self.customer, 300_000, days_ago=10)
        self.refresh()
        self.env.flush_all()
        names = ("profiles", "write_date", "history", "snapshots", "activities")

        def state():
            self.env.cr.execute(
                "SELECT (SELECT count(*) FROM customer_profile), "
                "(SELECT max(write_date) FROM customer_profile), "
                "(SELECT count(*) FROM customer_tier_history), "
                "(SELECT count(*) FROM customer_health_snapshot), "
                "(SELECT count(*) FROM mail_activity)"
            )
            return dict(zip(names, self.env.cr.fetchone(), strict=True))

        before = state()
        results = self.env["customer.profile"].evaluate_as_of(
            self.contact | newcomer, self.today - timedelta(days=5)
        )
        self.env.flush_all()
        self.assertEqual(state(), before)
        by_partner = {r["partner_id"]: r for r in results}
        self.assertEqual(set(by_partner), {self.customer.id, newcomer.id})
        self.assertEqual(by_partner[self.customer.id]["order_count"], 1)
        self.assertEqual(by_partner[newcomer.id]["order_count"], 0)
        self.assertEqual(by_partner[newcomer.id]["revenue"], 0.0)
        self.assertTrue(by_partner[newcomer.id]["tier_code"], "the catch-all tier")

    def test_access_and_bad_input(self):
        Profile = self.env["customer.profile"]
        with self.assertRaises(UserError):
            Profile.evaluate_as_of(self.customer, self.today + timedelta(days=1))
        other = self.env["res.partner"].create(
            {"name": "Other", "is_company": True, "user_id": self.manager.id}
        )
        self.make_order(other, 100_000)
        self.make_order(self.customer, 100_000)
        # The salesman sees his own customers only (Odoo's "own documents").
        results = Profile.with_user(self.salesman).evaluate_as_of(
            self.customer | other, self.today
        )
        self.assertEqual([r["partner_id"] for r in results], [self.customer.id])
