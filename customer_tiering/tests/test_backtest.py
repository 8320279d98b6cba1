# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import dataclasses
import json
from datetime import timedelta
from unittest.mock import patch

from odoo import Command
from odoo.exceptions import AccessError, UserError
from odoo.tests import TransactionCase, tagged
from odoo.tools import SQL

from ..engine import backtest
from .test_health import HealthCase


@tagged("post_install", "-at_install")
class TestBacktest(HealthCase):
    """``customer.health.backtest``: a run through its cron measures what
    the engine measures on the same evaluations."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        Partner = cls.env["res.partner"]
        cls.steady = Partner.create(
            [{"name": f"Steady {i}", "is_company": True} for i in (1, 2)]
        )
        cls.foreseen = Partner.create({"name": "Foreseen Churner", "is_company": True})
        cls.silent = Partner.create({"name": "Silent Churner", "is_company": True})
        cls.partners = cls.steady | cls.foreseen | cls.silent
        # Only these customers have confirmed orders in the company.
        cls.env.flush_all()
        cls.env.cr.execute(
            SQL(
                "UPDATE sale_order SET state = 'cancel' WHERE state = 'sale' "
                "AND company_id = %s",
                cls.company.id,
            )
        )
        cls.env.invalidate_all()
        cls.orders = {}  # partner id -> [(days ago, amount)], 30 months
        for partner in cls.steady:
            cls.orders[partner.id] = [(d, 1000.0) for d in range(900, 0, -30)]
        # The second keeps ordering, for less than a third from 300 days ago:
        # churned by a fall of revenue, not by inactivity.
        cls.orders[cls.steady[1].id] = [
            (d, 1000.0 if d > 300 else 300.0) for d in range(900, 0, -30)
        ]
        # Orders more and more rarely and smaller (and pays late, below),
        # then stops 330 days ago.
        cls.orders[cls.foreseen.id] = [(d, 1000.0) for d in range(900, 530, -30)] + [
            (510, 500.0),
            (450, 500.0),
            (400, 500.0),
            (330, 200.0),
        ]
        # Steady, then nothing after 390 days ago.
        cls.orders[cls.silent.id] = [(d, 1000.0) for d in range(900, 370, -30)]
        orders = cls.env["sale.order"].create(
            [
                {
                    "partner_id": partner_id,
                    "order_line": [
                        Command.create(
                            {
                                "product_id": cls.product.id,
                                "product_uom_qty": 1,
                                "price_unit": amount,
                            }
                        )
                    ],
                }
                for partner_id, rows in cls.orders.items()
                for __, amount in rows
            ]
        )
        orders.action_confirm()
        for order, days_ago in zip(
            orders,
            [d for rows in cls.orders.values() for d, __ in rows],
            strict=True,
        ):
            order.date_order = cls.local_noon(cls.today - timedelta(days=days_ago))
        # The foreseen churner pays late: an invoice unpaid long past due.
        move = cls.env["account.move"].create(
            {
                "move_type": "out_invoice",
                "partner_id": cls.foreseen.id,
                "invoice_date": cls.today - timedelta(days=470),
                "invoice_date_due": cls.today - timedelta(days=460),
                "invoice_line_ids": [
                    Command.create(
                        {"name": "Service", "price_unit": 5000, "tax_ids": False}
                    )
                ],
            }
        )
        move.action_post()
        cls.Backtest = cls.env["customer.health.backtest"]

    def new_run(self, **values):
        return self.Backtest.create(
            {
                "name": "Test run",
                "date_from": self.today - timedelta(days=370),
                "date_to": self.today - timedelta(days=190),
                **values,
            }
        )

    def run_cron(self, run):
        cron = self.env.ref("customer_tiering.ir_cron_run_backtests")
        self.assertEqual(cron.model_id.model, "customer.health.backtest")
        triggers = self.env["ir.cron.trigger"].search([("cron_id", "=", cron.id)])
        run.action_start()
        self.assertEqual(run.state, "running")
        # Queued: the scheduler is woken, the request returns at once.
        self.assertTrue(
            self.env["ir.cron.trigger"].search([("cron_id", "=", cron.id)]) - triggers
        )
        self.assertFalse(run.day_ids)
        self.env["customer.health.backtest"]._cron_run_backtests()
        self.assertEqual(run.state, "done", run.error_message)

    def expected(self, run, scorecard=None):
        """The engine's measures on evaluate_as_of's evaluations of the active
        customers, labelled from the orders this test made."""
        histories = {
            partner_id: [
                backtest.Order(self.today - timedelta(days=d), a) for d, a in rows
            ]
            for partner_id, rows in self.orders.items()
        }
        evaluations = []
        Profile = self.env["customer.profile"]
        if scorecard:
            settings = dataclasses.replace(
                Profile._refresh_settings(self.company), scorecard=tuple(scorecard)
            )
        for day in run._evaluation_days():
            active = {
                partner_id
                for partner_id, orders in histories.items()
                if any(day - timedelta(days=180) < o.day <= day for o in orders)
            }
            if scorecard:
                profile_of = {p.id: self.profile(p).id or None for p in self.partners}
                results = [
                    {
                        "partner_id": o.partner_id,
                        "health_band": o.health_band,
                        "health_score": o.health_score,
                        "raw": o.health_data["raw"],
                        "reason_keys": o.reasons,
                    }
                    for batch in Profile._outcomes_as_of(
                        self.company, day, profile_of, settings
                    )
                    for o in batch
                ]
            else:
                results = Profile.evaluate_as_of(self.partners, day)
            evaluations += [
                backtest.Evaluation(
                    day,
                    r["partner_id"],
                    None,
                    r["health_band"],
                    r["health_score"],
                    r["raw"],
                    tuple(r["reason_keys"]),
                )
                for r in results
                if r["partner_id"] in active
            ]
        labels = backtest.label_churn(
            histories,
            {(e.day, e.partner_id) for e in evaluations},
            self.today,
            backtest.ChurnRule(
                definition=run.churn_definition, revenue_pct=run.revenue_pct
            ),
        )
        return backtest.run_backtest(evaluations, labels, 90)

    def assert_measures(self, run, result):
        at_risk = result.overall["at_risk"]
        watch = result.overall["at_risk_or_watch"]
        self.assertAlmostEqual(run.precision, at_risk.precision or 0.0, places=4)
        self.assertAlmostEqual(run.recall, at_risk.recall or 0.0, places=4)
        self.assertAlmostEqual(run.precision_watch, watch.precision or 0.0, places=4)
        self.assertAlmostEqual(run.recall_watch, watch.recall or 0.0, places=4)
        self.assertAlmostEqual(run.lead_time_days, result.lead_time_days or 0.0)
        self.assertAlmostEqual(
            run.never_flagged_share, result.never_flagged_share or 0.0, places=4
        )
        self.assertEqual(run.evaluated_count, at_risk.total)
        self.assertEqual(run.churner_count, result.churners)

    def test_live_run_measures_what_the_engine_measures(self):
        run = self.new_run()
        days = run._evaluation_days()
        self.assertIn(len(days), (5, 6))
        self.assertTrue(all((d + timedelta(days=1)).day == 1 for d in days))
        self.run_cron(run)
        self.assertEqual((run.days_done, run.days_total), (len(days), len(days)))
        self.assertEqual(len(run.day_ids), len(days))
        result = self.expected(run)
        self.assert_measures(run, result)
        # Both churners are labelled, the steady customers are not churners.
        self.assertEqual(run.churner_count, 2)
        churned = run.line_ids.filtered("churned")
        self.assertEqual(churned.partner_id, self.foreseen | self.silent)
        last = {
            line.partner_id: line.churn_day for line in churned
        }  # their last orders
        self.assertEqual(last[self.foreseen], self.today - timedelta(days=330))
        self.assertEqual(last[self.silent], self.today - timedelta(days=390))
        self.assertFalse(churned.partner_id & self.steady)
        self.assertIn("<table", run.result_html)
        # Settings show the latest finished backtest of the live scorecard.
        settings = self.env["res.config.settings"].create({})
        self.assertEqual(settings.customer_health_backtest_id, run)
        self.assertEqual(settings.customer_health_backtest_recall, run.recall)
        self.assertEqual(
            settings.customer_health_backtest_lead_time, run.lead_time_days
        )
        # A killed run resumes at the next day: the days stored are kept.
        first = run.day_ids.sorted("day")[:2]
        (run.day_ids - first).unlink()
        run.write({"state": "running", "days_done": 2})
        self.Backtest._cron_run_backtests()
        self.assertEqual(run.state, "done")
        self.assertLessEqual(first, run.day_ids)
        self.assert_measures(run, result)

    def test_revenue_definition(self):
        run = self.new_run(churn_definition="revenue", revenue_pct=50.0)
        self.run_cron(run)
        result = self.expected(run)
        self.assert_measures(run, result)
        inactivity = self.expected(self.new_run())
        self.assertGreater(
            result.overall["at_risk"].churned, inactivity.overall["at_risk"].churned
        )
        self.assertIn(self.steady[1], run.line_ids.filtered("churned").partner_id)

    def test_views_load_for_a_manager(self):
        views = self.Backtest.with_user(self.manager).get_views(
            [(False, "list"), (False, "form")]
        )
        self.assertIn("progress", views["views"]["form"]["arch"])

    def test_recency_only_draft_differs_and_applies(self):
        # A tiering manager does it all but the cron (the scheduler's user).
        self.Backtest = self.Backtest.with_user(self.manager)
        live = self.new_run()
        self.run_cron(live)
        action = live.action_new_draft()
        draft = self.Backtest.browse(action["res_id"])
        self.assertEqual(draft.compare_with_id, live)
        self.assertEqual(
            (draft.date_from, draft.date_to, draft.scorecard, draft.state),
            (live.date_from, live.date_to, "draft", "draft"),
        )
        self.assertEqual(
            draft.draft_line_ids.mapped("key"),
            self.env["customer.health.dimension"]
            .search([("company_id", "=", self.company.id)])
            .mapped("key"),
        )
        for line in draft.draft_line_ids:
            line.weight = 100.0 if line.key == "recency" else 0.0
            line.enabled = line.key == "recency" or line.enabled
        self.run_cron(draft)
        result = self.expected(
            draft, [line._to_dimension() for line in draft.draft_line_ids]
        )
        self.assert_measures(draft, result)
        self.assertNotEqual(
            (draft.precision, draft.recall, draft.precision_watch, draft.recall_watch),
            (live.precision, live.recall, live.precision_watch, live.recall_watch),
        )
        self.assertEqual(draft.compare_recall, live.recall)
        # Apply: the live scorecard takes the draft's weights, noted.
        draft.action_apply_draft()
        lines = self.env["customer.health.dimension"].search(
            [("company_id", "=", self.company.id)]
        )
        self.assertEqual(
            {line.key: line.weight for line in lines if line.weight},
            {"recency": 100.0},
        )
        self.assertIn("Draft applied", draft.message_ids[0].body)
        self.assertTrue(self.company.customer_tiering_run_start)

    def test_suggest_weights_in_the_background(self):
        live = self.new_run()
        self.run_cron(live)
        manager_live = live.with_user(self.manager)
        cron = self.env.ref("customer_tiering.ir_cron_run_backtests")
        triggers = self.env["ir.cron.trigger"].search([("cron_id", "=", cron.id)])
        drafts = self.Backtest.search([("scorecard", "=", "draft")])
        # Queued: the request returns at once, the scheduler is woken.
        with patch.object(
            backtest, "suggest_weights", side_effect=AssertionError("in the request")
        ):
            self.assertTrue(manager_live.action_suggest_weights())
        self.assertEqual(live.suggest_state, "queued")
        self.assertEqual(live.suggest_user_id, self.manager)
        self.assertTrue(
            self.env["ir.cron.trigger"].search([("cron_id", "=", cron.id)]) - triggers
        )
        self.assertEqual(self.Backtest.search([("scorecard", "=", "draft")]), drafts)
        # The form's widget is told when it is done.
        self.env["bus.bus"].search([]).unlink()
        self.Backtest._cron_run_backtests()
        self.assertEqual(live.suggest_state, "done", live.suggest_error)
        draft = live.suggested_id
        self.assertEqual(
            self.Backtest.search([("scorecard", "=", "draft")]) - drafts, draft
        )
        self.assertEqual(draft.scorecard, "draft")
        self.assertEqual(draft.state, "draft")
        self.assertEqual(draft.compare_with_id, live)
        self.assertAlmostEqual(sum(draft.draft_line_ids.mapped("weight")), 100, 0)
        self.assertIn("Weights suggested from", draft.message_ids[0].body)
        self.assertEqual(draft.message_ids[0].author_id, self.manager.partner_id)
        self.assertEqual(manager_live.action_open_suggested()["res_id"], draft.id)
        self.assert_form_notified(live)
        # Idempotent: nothing queued, nothing made again.
        self.Backtest._cron_run_backtests()
        self.assertEqual(
            self.Backtest.search([("scorecard", "=", "draft")]) - drafts, draft
        )
        # Starting the run again drops the suggestion's state.
        live.action_start()
        self.assertFalse(live.suggest_state)

    def test_suggestion_failure_is_stored_on_the_run(self):
        live = self.new_run()
        self.run_cron(live)
        live.with_user(self.manager).action_suggest_weights()
        drafts = self.Backtest.search([("scorecard", "=", "draft")])
        with patch.object(
            backtest, "suggest_weights", side_effect=ValueError("search broke")
        ):
            self.Backtest._cron_run_backtests()
        self.assertEqual(live.suggest_state, "failed")
        self.assertEqual(live.suggest_error, "search broke")
        self.assertFalse(live.suggested_id)
        self.assertEqual(self.Backtest.search([("scorecard", "=", "draft")]), drafts)
        self.assertEqual(live.state, "done")  # the run itself stays done
        # Asked again, it works.
        live.action_suggest_weights()
        self.assertFalse(live.suggest_error)
        self.Backtest._cron_run_backtests()
        self.assertEqual(live.suggest_state, "done")
        self.assertTrue(live.suggested_id)

    def test_suggestion_needs_a_finished_live_run(self):
        run = self.new_run()
        with self.assertRaises(UserError):
            run.action_suggest_weights()
        self.assertFalse(run.suggest_state)

    def assert_form_notified(self, run, user=None):
        """A bus notification to ``user`` (the run's creator) says the run
        changed."""
        self.env.cr.precommit.run()  # the bus records are made on commit
        channel = ["res.partner", (user or run.create_uid).partner_id.id]
        messages = [
            json.loads(bus.message)
            for bus in self.env["bus.bus"].search([])
            if json.loads(bus.channel)[1:] == channel
        ]
        self.assertIn(
            {
                "type": "customer_tiering.backtest_changed",
                "payload": {"id": run.id, "state": run.state},
            },
            messages,
        )

    def test_progress_is_sent_to_the_form(self):
        run = self.new_run()
        run.action_start()
        self.env["bus.bus"].search([]).unlink()
        self.Backtest._cron_run_backtests()
        self.assertEqual(run.state, "done")
        self.assert_form_notified(run)
        # Another manager runs it again: the one who starts it is told too.
        self.assertNotEqual(run.create_uid, self.manager)
        run.with_user(self.manager).action_start()
        self.assertIn(self.manager.partner_id, run.message_partner_ids)
        self.env["bus.bus"].search([]).unlink()
        self.Backtest._cron_run_backtests()
        self.assert_form_notified(run, self.manager)

    def test_failure_is_stored_not_raised(self):
        run = self.new_run()
        run.action_start()
        # The scorecard breaks after the start: the run fails, with the reason.
        self.env.cr.execute(
            SQL(
                "UPDATE customer_health_dimension SET weight = 0 WHERE company_id = %s",
                self.company.id,
            )
        )
        self.env.invalidate_all()
        self.env.registry.clear_cache()
        self.Backtest._cron_run_backtests()
        self.assertEqual(run.state, "failed")
        self.assertIn("positive weight", run.error_message)

    def test_salesman_cannot_read_backtests(self):
        run = self.new_run()
        with self.assertRaises(AccessError):
            run.with_user(self.salesman).read(["precision"])
        with self.assertRaises(AccessError):
            self.Backtest.with_user(self.salesman).search([])
        run.with_user(self.manager).read(["precision"])


@tagged("post_install", "-at_install")
class TestDemoBacktest(TransactionCase):
    def test_demo_has_a_finished_backtest_with_its_two_churners(self):
        run = self.env["customer.health.backtest"].search(
            [("name", "=", "Health backtest of the last year")]
        )
        self.assertTrue(run, "the demo data has a backtest")
        self.assertEqual(run.state, "done")
        self.assertGreater(run.evaluated_count, 0)
        churned = run.line_ids.filtered("churned").partner_id
        self.assertIn(self.env.ref("customer_tiering.demo_partner_huaxia"), churned)
        self.assertIn(self.env.ref("customer_tiering.demo_partner_nanhai"), churned)


@tagged("post_install", "-at_install")
class TestBacktestCompanies(TransactionCase):
    def test_another_companys_manager_reads_none_of_it(self):
        run = self.env["customer.health.backtest"].search(
            [("name", "=", "Health backtest of the last year")]
        )
        weight = self.env["customer.health.backtest.weight"].create(
            {"backtest_id": run.id, "key": "recency", "good": 30, "bad": 180}
        )
        self.assertTrue(run.day_ids and run.line_ids)
        other = self.env["res.company"].create({"name": "Backtest Other Co"})
        manager = self.env["res.users"].create(
            {
                "name": "Other company's tiering manager",
                "login": "bt_other_manager",
                "company_id": other.id,
                "company_ids": [Command.set(other.ids)],
                "groups_id": [
                    Command.link(
                        self.env.ref(
                            "customer_tiering.group_customer_tiering_manager"
                        ).id
                    )
                ],
            }
        )
        for model, records in (
            ("customer.health.backtest", run),
            ("customer.health.backtest.day", run.day_ids),
            ("customer.health.backtest.weight", weight),
            ("customer.health.backtest.line", run.line_ids),
        ):
            found = (
                self.env[model].with_user(manager).search([("id", "in", records.ids)])
            )
            self.assertFalse(found, model)
