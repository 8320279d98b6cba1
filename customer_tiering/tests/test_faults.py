# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""One bad record never stops a night's run, and a sale never half-updates."""

import threading
from contextlib import contextmanager
from datetime import timedelta
from unittest.mock import patch

import psycopg2

from odoo import Command, fields, sql_db
from odoo.exceptions import AccessError
from odoo.tests import new_test_user, tagged

from ..engine import refresh
from ..models import fault_isolation
from .common import TieringCase

LOGGER = "odoo.addons.customer_tiering"
CONFLICT = (
    "DO $$ BEGIN RAISE EXCEPTION 'could not serialize access due to concurrent "
    "update' USING ERRCODE = 'serialization_failure'; END $$"
)


class FakeCursor:
    """Savepoints and rollbacks, counted (the helper's only use of a cursor)."""

    def __init__(self):
        self.rollbacks = 0

    @contextmanager
    def savepoint(self):
        yield

    def rollback(self):
        self.rollbacks += 1


def spy(model, method):
    """Patch ``method`` of ``model``'s class to record the ids it is called on."""
    cls = type(model)
    original = getattr(cls, method)
    calls = []

    def wrapper(records, *args, **kwargs):
        calls.append(list(records.ids))
        return original(records, *args, **kwargs)

    return patch.object(cls, method, wrapper), calls


class FaultCase(TieringCase):
    def poisoned(self, partner):
        """The tier decision of ``partner`` raises (a bad record)."""
        original = refresh._evaluate

        def evaluate(settings, ladder, customer, scored, today):
            if customer.partner_id == partner.id:
                raise ValueError(f"poisoned figures of {partner.name}")
            return original(settings, ladder, customer, scored, today)

        return patch.object(refresh, "_evaluate", evaluate)

    def real_conflict(self):
        """A serialization failure as PostgreSQL raises it."""
        try:
            with self.env.cr.savepoint():
                self.env.cr.execute(CONFLICT)
        except psycopg2.errors.SerializationFailure as error:
            return error
        raise AssertionError("no serialization failure")


@tagged("post_install", "-at_install")
class TestRefreshFaults(FaultCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.customers = cls.env["res.partner"].create(
            [{"name": f"Fault Customer {i}", "is_company": True} for i in range(4)]
        )
        for i, customer in enumerate(cls.customers):
            cls.make_order(customer, 600_000 * (i + 1), confirm=False).with_context(
                customer_tiering_skip=True
            ).action_confirm()

    def test_one_bad_customer_never_stops_the_run(self):
        Profile = self.env["customer.profile"]
        bad, *good = self.customers
        Profile._request_full_refresh()
        run = self.company.customer_tiering_run_id
        calls_patch, calls = spy(Profile, "_refresh")
        with (
            self.poisoned(bad),
            calls_patch,
            self.assertLogs(LOGGER, "WARNING") as logs,
        ):
            Profile._cron_refresh(batch_size=3)
        self.assertFalse(self.company.customer_tiering_run_start, "run finished")
        for partner in good:
            self.assertTrue(self.tier_of(partner))
            self.assertEqual(self.profile(partner).refresh_run, run)
            self.assertFalse(self.profile(partner).refresh_error)
        profile = self.profile(bad)
        self.assertFalse(profile.tier_id)
        self.assertIn(f"poisoned figures of {bad.name}", profile.refresh_error)
        self.assertEqual(profile.refresh_error_step, "refresh")
        self.assertTrue(profile.refresh_error_on)
        self.assertEqual(profile.refresh_run, run, "gone through by this run")
        self.assertIn(f"customer {bad.id} ", "\n".join(logs.output))
        # The happy path stays bulk: only the failed batch went one by one.
        failed = next(ids for ids in calls if profile.id in ids and len(ids) > 1)
        index = calls.index(failed) + 1
        self.assertEqual(calls[index : index + len(failed)], [[i] for i in failed])
        batches = calls[:index] + calls[index + len(failed) :]
        self.assertEqual({len(ids) for ids in batches[:-1]}, {3})
        # A manager finds it, from the Settings too.
        self.assertEqual(
            Profile.search(
                [("company_id", "=", self.company.id), ("refresh_error", "!=", False)]
            ),
            profile,
        )
        settings = self.env["res.config.settings"].create({})
        self.assertEqual(settings.customer_tiering_failed_count, 1)
        action = settings.action_customer_tiering_open_failed()
        self.assertEqual(action["context"], {"search_default_refresh_failed": 1})
        search = self.env.ref("customer_tiering.view_customer_profile_search")
        self.assertIn('name="refresh_failed"', search.arch_db)
        # Repaired: the next run evaluates it and clears the error.
        Profile._request_full_refresh()
        Profile._cron_refresh()
        self.assertTrue(self.tier_of(bad))
        self.assertFalse(profile.refresh_error)
        self.assertFalse(profile.refresh_error_on)
        self.assertEqual(settings.new({}).customer_tiering_failed_count, 0)

    def test_failed_customers_do_not_block_later_batches(self):
        Profile = self.env["customer.profile"].with_company(self.company)
        Profile._request_full_refresh()
        run = self.company.customer_tiering_run_id
        first = Profile._pending_batch(self.company, run, 1)
        calls_patch, calls = spy(Profile, "_refresh")
        with (
            self.poisoned(first.partner_id),
            calls_patch,
            self.assertLogs(LOGGER, "WARNING"),
        ):
            # Each call stops after one batch (its time budget is over).
            Profile._cron_refresh(batch_size=2, max_batches=1)
            self.assertIn(first.id, calls[0])
            self.assertTrue(first.refresh_error)
            calls.clear()
            Profile._cron_refresh(batch_size=2, max_batches=1)
        self.assertNotIn(first.id, calls[0], "the run went on past it")

    def test_serialization_failure_retries_the_batch(self):
        Profile = self.env["customer.profile"]
        cls = type(Profile)
        original = cls._write_rows
        conflicts = []

        def conflict_once(records, *args, **kwargs):
            if not conflicts:
                conflicts.append(True)
                records.env.cr.execute(CONFLICT)
            return original(records, *args, **kwargs)

        Profile._request_full_refresh()
        calls_patch, calls = spy(Profile, "_refresh")
        with (
            patch.object(cls, "_write_rows", conflict_once),
            calls_patch,
            patch.object(fault_isolation, "time") as clock,
        ):
            Profile._cron_refresh()
        self.assertTrue(conflicts)
        self.assertEqual(calls[0], calls[1], "the whole batch retried at once")
        self.assertFalse([ids for ids in calls if len(ids) == 1], "no one-by-one")
        clock.sleep.assert_called_once()
        self.assertLess(clock.sleep.call_args.args[0], 1, "a short pause")
        self.assertFalse(self.company.customer_tiering_run_start)
        self.assertTrue(all(self.tier_of(c) for c in self.customers))
        self.assertFalse(
            Profile.search_count(
                [("company_id", "=", self.company.id), ("refresh_error", "!=", False)]
            )
        )

    def test_isolation_retries_in_a_fresh_transaction(self):
        """In the cron (batches committed) a retry starts a new transaction:
        within the old snapshot a serialization failure would only repeat."""
        cr, error, tries = FakeCursor(), self.real_conflict(), []

        def conflict_first(units):
            tries.append(list(units))
            if len(tries) == 1:
                raise error

        with patch.object(fault_isolation, "time"):
            failed = fault_isolation.isolate(
                cr, [1, 2, 3], conflict_first, fresh_transaction=True
            )
        self.assertEqual(failed, {})
        self.assertEqual(tries, [[1, 2, 3], [1, 2, 3]])
        self.assertEqual(cr.rollbacks, 1)
        tries.clear()

        def bad_two(units):
            tries.append(list(units))
            if 2 in units:
                raise ValueError("bad 2")

        failed = fault_isolation.isolate(cr, [1, 2, 3], bad_two)
        self.assertEqual(list(failed), [2])
        self.assertEqual(tries, [[1, 2, 3], [1], [2], [3]], "no retry of a bug")
        self.assertEqual(cr.rollbacks, 1)


@tagged("post_install", "-at_install")
class TestConcurrentRefresh(FaultCase):
    """A sales order confirmed while the nightly batch holding its customer
    runs (the profile row is rewritten and committed by another transaction).

    On its own class: the concurrent commit makes that row unwritable for the
    rest of this test transaction."""

    def test_order_confirmed_during_the_nightly_batch(self):
        Profile = self.env["customer.profile"]
        profiles = Profile.search([("company_id", "=", self.company.id)], order="id")
        # A demo customer: its profile is committed, another connection sees it.
        victim = profiles[:1]
        self.assertTrue(victim, "the database has the demo customers")
        Profile._request_full_refresh()
        run = self.company.customer_tiering_run_id
        cls = type(Profile)
        original = cls._gather_orders
        concurrent = sql_db.db_connect(self.env.cr.dbname).cursor()
        timers = []

        def gather(records, scope):
            result = original(records, scope)
            if not timers and victim.partner_id.id in scope.partner_ids:
                # The confirm hook of another user rewrites the row and holds
                # it while the batch goes on; it commits a moment later.
                concurrent.execute(
                    "UPDATE customer_profile SET write_date = write_date WHERE id = %s",
                    [victim.id],
                )
                timers.append(threading.Timer(0.3, concurrent.commit))
                timers[0].start()
            return result

        try:
            with (
                patch.object(cls, "_gather_orders", gather),
                self.assertLogs(LOGGER, "WARNING") as logs,
            ):
                Profile._cron_refresh()
        finally:
            for timer in timers:
                timer.join()
            concurrent.close()
        self.assertTrue(timers, "the concurrent update happened")
        self.assertIn(f"customer {victim.partner_id.id} ", "\n".join(logs.output))
        self.assertFalse(self.company.customer_tiering_run_start, "run finished")
        others = (profiles - victim).filtered(lambda p: p.refresh_run != run)
        self.assertFalse(others, "the batch's other customers are stored")


@tagged("post_install", "-at_install")
class TestHookFaults(FaultCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.customer.user_id = cls.salesman
        cls.today = fields.Date.context_today(cls.env["customer.profile"])

    def assertConsistent(self, profile):
        profile.invalidate_recordset()
        self.assertFalse(profile.refresh_error)
        self.assertEqual(profile.tier_id, profile.computed_tier_id)
        self.assertEqual(self.tier_of(profile.partner_id), profile.tier_id)
        last = profile.history_ids.sorted("id")[-1:]
        self.assertEqual(last.to_tier_id, profile.tier_id)
        plan = self.env["customer.maintenance.plan"]._plans_by_tier(self.company)
        self.assertEqual(profile.plan_id.id, plan[profile.tier_id.id].id)
        self.assertTrue(profile.health_band)
        partner = profile.partner_id.with_company(self.company)
        partner.invalidate_recordset()
        self.assertEqual(partner.customer_health_band, profile.health_band)

    def test_salesman_confirm_ends_an_expired_override(self):
        self.make_order(self.customer, 600_000, days_ago=40, user_id=self.salesman.id)
        self.env["customer.tier.override.wizard"].create(
            {
                "partner_id": self.customer.id,
                "tier_id": self.tier_s.id,
                "reason": "Trade fair partner",
                "until": self.today + timedelta(days=5),
            }
        ).action_apply()
        profile = self.profile()
        self.assertEqual(profile.tier_id, self.tier_s)
        # The override ended yesterday.
        self.env.cr.execute(
            "UPDATE customer_profile SET override_until = %s WHERE id = %s",
            [self.today - timedelta(days=1), profile.id],
        )
        profile.invalidate_recordset()
        order = self.make_order(
            self.customer, 100_000, confirm=False, user_id=self.salesman.id
        )
        order.with_user(self.salesman).sudo(False).action_confirm()
        self.assertEqual(order.state, "sale")
        self.assertFalse(profile.override_tier_id, "override ended, not half")
        self.assertFalse(profile.override_until)
        self.assertFalse(profile.override_active)
        self.assertEqual(profile.tier_id, self.tier_b)
        self.assertEqual(profile.history_ids.sorted("id")[-1].cause, "override_ended")
        self.assertEqual(profile.revenue, 700_000)
        self.assertConsistent(profile)

    def test_accountant_posts_an_invoice(self):
        self.company.customer_tiering_basis = "invoice"
        accountant = new_test_user(
            self.env,
            login="ct_accountant",
            groups="account.group_account_invoice",
            name="Tiering Accountant",
        )
        self.assertFalse(accountant.has_group("sales_team.group_sale_salesman"))
        move = self.env["account.move"].create(
            {
                "move_type": "out_invoice",
                "partner_id": self.contact.id,
                "invoice_date": self.today,
                "invoice_line_ids": [
                    Command.create(
                        {"name": "Service", "price_unit": 1_200_000, "tax_ids": False}
                    )
                ],
            }
        )
        move.with_user(accountant).action_post()
        self.assertEqual(move.state, "posted")
        profile = self.profile()
        self.assertEqual(profile.revenue, 1_200_000)
        self.assertEqual(profile.tier_id, self.tier_a)
        self.assertEqual(profile.history_ids.user_id, accountant)
        self.assertConsistent(profile)

    def test_failed_hook_never_breaks_the_confirmation(self):
        with (
            self.poisoned(self.customer),
            self.assertLogs(LOGGER, "ERROR") as logs,
        ):
            order = self.make_order(self.customer, 700_000)
        self.assertEqual(order.state, "sale")
        profile = self.profile()
        self.assertIn("poisoned figures", profile.refresh_error)
        self.assertFalse(profile.tier_id, "all or nothing")
        self.assertFalse(profile.history_ids)
        self.assertIn(f"customer {self.customer.id} ", "\n".join(logs.output))
        self.refresh()
        self.assertFalse(profile.refresh_error, "cleared by the next evaluation")
        self.assertEqual(profile.tier_id, self.tier_b)


@tagged("post_install", "-at_install")
class TestSchedulerFaults(FaultCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        env = cls.env
        cls.today = fields.Date.context_today(env["customer.profile"])
        cls.p, cls.q, cls.r = env["res.partner"].create(
            [
                {
                    "name": f"Scheduled Customer {name}",
                    "is_company": True,
                    "user_id": cls.salesman.id,
                    "email": f"buyer-{name}@scheduled.example.com",
                }
                for name in "PQR"
            ]
        )
        for partner in (cls.p, cls.q, cls.r):
            cls.make_order(partner, 100_000)
        cls.template = env["mail.template"].create(
            {
                "name": "Poisoned news",
                "model_id": env["ir.model"]._get_id("res.partner"),
                "subject": "News",
                "partner_to": "{{ object.id }}",
                # A broken QWeb expression: the body cannot be rendered.
                "body_html": '<p>Dear <t t-out="object.name +"/></p>',
            }
        )
        Plan = env["customer.maintenance.plan"]
        cls.plan_bad = Plan.create(
            {
                "name": "Poisoned plan",
                "line_ids": [
                    Command.create(
                        {"name": "Welcome call", "kind": "activity", "lead_days": 3}
                    ),
                    Command.create(
                        {
                            "name": "Monthly news",
                            "kind": "email",
                            "mail_template_id": cls.template.id,
                        }
                    ),
                ],
            }
        )
        cls.plan_good = Plan.create(
            {
                "name": "Healthy plan",
                "line_ids": [
                    Command.create(
                        {"name": "Check-in call", "kind": "activity", "lead_days": 3}
                    )
                ],
            }
        )
        cls.profiles = env["customer.profile"].search(
            [("partner_id", "in", (cls.p | cls.q | cls.r).ids)], order="id"
        )
        bad, *good = cls.profiles
        env.cr.execute(
            "UPDATE customer_profile SET pinned_plan_id = %s WHERE id = %s",
            [cls.plan_bad.id, bad.id],
        )
        env.cr.execute(
            "UPDATE customer_profile SET pinned_plan_id = %s WHERE id = ANY(%s)",
            [cls.plan_good.id, [p.id for p in good]],
        )
        # The other customers were scheduled tonight already.
        env.cr.execute(
            "UPDATE customer_profile SET followups_checked_on = "
            "CASE WHEN id = ANY(%s) THEN NULL ELSE %s END",
            [cls.profiles.ids, cls.today],
        )
        env.invalidate_all()

    def followups(self, profile):
        return self.env["mail.activity"].search(
            [("customer_profile_id", "=", profile.id)]
        )

    def test_poisoned_template_skips_only_its_customer(self):
        Profile = self.env["customer.profile"]
        bad, good, later = self.profiles
        calls_patch, calls = spy(Profile, "_schedule_followups")
        with calls_patch, self.assertLogs(LOGGER, "WARNING") as logs:
            Profile._cron_schedule_followups(batch_size=2, max_batches=1)
        self.assertEqual(calls[0], [bad.id, good.id])
        self.assertFalse(self.followups(bad), "all or nothing for that customer")
        self.assertEqual(self.followups(good).summary, "Check-in call")
        self.assertEqual(bad.refresh_error_step, "followups")
        self.assertTrue(bad.refresh_error)
        self.assertEqual(bad.followups_checked_on, self.today)
        self.assertIn(f"customer {self.p.id} ", "\n".join(logs.output))
        calls.clear()
        with calls_patch:
            Profile._cron_schedule_followups(batch_size=2, max_batches=1)
        self.assertEqual(calls[0], [later.id], "the next run does not start with it")
        self.assertTrue(self.followups(later))
        # Repaired, the next night: its follow-ups, and the error is cleared.
        self.template.body_html = "<p>Dear <t t-out='object.name'/></p>"
        bad._engine().followups_checked_on = False
        Profile._cron_schedule_followups()
        self.assertEqual(self.followups(bad).summary, "Welcome call")
        self.assertFalse(bad.refresh_error)

    def test_scheduling_keeps_a_refresh_error(self):
        bad = self.profiles[0]
        with self.poisoned(self.p), self.assertLogs(LOGGER, "ERROR"):
            self.env["sale.order"]._customer_tiering_refresh_for(self.company, self.p)
        self.assertTrue(bad.refresh_error)
        self.template.body_html = "<p>News</p>"
        self.env["customer.profile"]._cron_schedule_followups()
        self.assertTrue(self.followups(bad))
        self.assertEqual(bad.refresh_error_step, "refresh", "not the scheduler's")


@tagged("post_install", "-at_install")
class TestFaultViews(TieringCase):
    def test_error_shown_to_managers_only(self):
        kinds = ["list", "form", "search"]
        for user, shown in ((self.salesman, False), (self.manager, True)):
            Profile = self.env["customer.profile"].with_user(user)
            views = Profile.get_views([(False, kind) for kind in kinds])["views"]
            for kind, name in (
                ("list", 'name="refresh_error"'),
                ("form", 'name="refresh_error"'),
                ("search", 'name="refresh_failed"'),
            ):
                self.assertEqual(
                    name in views[kind]["arch"], shown, f"{user.login} {kind}"
                )
        with self.assertRaises(AccessError):
            self.env["customer.profile"].with_user(self.salesman).search(
                [("refresh_error", "!=", False)]
            )
        arch = (
            self.env["res.config.settings"]
            .with_user(self.env.ref("base.user_admin"))
            .get_views([(False, "form")])["views"]["form"]["arch"]
        )
        self.assertIn('name="customer_tiering_failed_count"', arch)
        self.assertIn('name="action_customer_tiering_open_failed"', arch)
