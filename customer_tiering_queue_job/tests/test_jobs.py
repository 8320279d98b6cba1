# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The nightly work as queue_job jobs: enqueued once per batch, performed
exactly once per customer, failures alone and visible."""

from unittest.mock import patch

from odoo import fields
from odoo.tests import common as odoo_common
from odoo.tests import tagged

from odoo.addons.customer_tiering.engine import refresh
from odoo.addons.customer_tiering.tests.common import TieringCase
from odoo.addons.queue_job.exception import FailedJobError, RetryableJobError

# queue_job's test helpers (18.0.4.1.2.2) register themselves in
# SETATTR_SOURCES, which Odoo 18 builds older than mid-2025 lack (nothing to
# register there, then).
if not hasattr(odoo_common, "SETATTR_SOURCES"):
    odoo_common.SETATTR_SOURCES = {}

from odoo.addons.queue_job.tests.common import trap_jobs

CONFLICT = (
    "DO $$ BEGIN RAISE EXCEPTION 'could not serialize access due to concurrent "
    "update' USING ERRCODE = 'serialization_failure'; END $$"
)


@tagged("post_install", "-at_install")
class TestQueueJobs(TieringCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.Profile = cls.env["customer.profile"].with_company(cls.company)
        cls.customers = cls.env["res.partner"].create(
            [{"name": f"Job Customer {i}", "is_company": True} for i in range(5)]
        )
        for i, customer in enumerate(cls.customers):
            cls.make_order(customer, 600_000 * (i + 1), confirm=False).with_context(
                customer_tiering_skip=True
            ).action_confirm()
        # Other companies' runs are not these tests' business.
        cls.env["res.company"].search([("id", "!=", cls.company.id)]).write(
            {"customer_tiering_run_start": False}
        )
        cls.Profile._create_missing_profiles(cls.company)

    def profiles(self):
        return self.Profile.search([("company_id", "=", self.company.id)])

    def run_jobs(self):
        return self.env["queue.job"].search(
            [
                (
                    "identity_key",
                    "=like",
                    f"customer_tiering:refresh:{self.company.id}:"
                    f"{self.company.customer_tiering_run_id}:%",
                )
            ]
        )

    def uncheck_followups(self, profiles):
        """As a plan change does (_trigger_followups): to do again today."""
        self.env.cr.execute(
            "UPDATE customer_profile SET followups_checked_on = NULL "
            "WHERE id = ANY(%s)",
            [profiles.ids],
        )
        profiles.invalidate_recordset(["followups_checked_on"])

    def start_run(self):
        self.company._customer_tiering_start_run("manual")
        return self.company.customer_tiering_run_id

    def test_refresh_one_job_per_batch_on_the_channel(self):
        run = self.start_run()
        profiles = self.profiles()
        with trap_jobs() as trap:
            enqueued = self.Profile._cron_refresh(batch_size=2)
            batches = -(-len(profiles) // 2)
            self.assertEqual(enqueued, batches + 1, "the batches and the end")
            trap.assert_jobs_count(
                batches, only=self.Profile._customer_tiering_job_refresh
            )
            trap.assert_jobs_count(1, only=self.Profile._customer_tiering_job_end_run)
            first = profiles.sorted("id")[:2]
            trap.assert_enqueued_job(
                self.Profile._customer_tiering_job_refresh,
                args=(self.company.id, run, first[0].id, first[1].id, 2, None),
                properties={
                    "channel": "root.customer_tiering",
                    "identity_key": (
                        f"customer_tiering:refresh:{self.company.id}:{run}:1"
                    ),
                },
            )
            self.assertTrue(self.company.customer_tiering_run_start)
            self.assertTrue(all(p.refresh_run < run for p in profiles), "not yet")
            trap.perform_enqueued_jobs()
        self.assertEqual(set(profiles.mapped("refresh_run")), {run})
        self.assertFalse(self.company.customer_tiering_run_start, "run over")
        for customer in self.customers:
            self.assertTrue(self.tier_of(customer))

    def test_the_channel_is_a_setting(self):
        settings = self.env["res.config.settings"].create(
            {"customer_tiering_queue_job_channel": "root.nightly"}
        )
        settings.execute()
        self.start_run()
        with trap_jobs() as trap:
            self.Profile._cron_refresh()
            self.assertEqual(
                {job.channel for job in trap.enqueued_jobs}, {"root.nightly"}
            )

    def test_a_double_trigger_enqueues_nothing_twice(self):
        self.Profile._request_full_refresh(companies=self.company)
        jobs = self.run_jobs()
        self.assertTrue(jobs)
        self.Profile._cron_refresh()
        self.Profile._cron_refresh(batch_size=1)
        self.assertEqual(self.run_jobs(), jobs)
        self.assertEqual(len(set(jobs.mapped("identity_key"))), len(jobs))
        # A new run (the configuration changed) gets its own jobs.
        self.company.customer_tiering_grace_days = 10
        self.assertTrue(self.run_jobs())
        self.assertFalse(self.run_jobs() & jobs)

    def test_a_retried_batch_does_only_what_is_left(self):
        run = self.start_run()
        profiles = self.profiles().sorted("id")
        with trap_jobs() as trap:
            self.Profile._cron_refresh(batch_size=len(profiles))
            job = next(
                j
                for j in trap.enqueued_jobs
                if j.method_name == "_customer_tiering_job_refresh"
            )
            # A worker did the first two and was killed after its commit...
            profiles[:2]._refresh(run=run)
            evaluated = {p.id: p.evaluated_at for p in profiles[:2]}
            cls = type(self.Profile)
            original = cls._refresh
            seen = []

            def spy(records, *args, **kwargs):
                seen.extend(records.ids)
                return original(records, *args, **kwargs)

            with patch.object(cls, "_refresh", spy):
                job.perform()
        self.assertEqual(sorted(seen), profiles[2:].ids, "the others only")
        self.assertEqual(set(profiles.mapped("refresh_run")), {run})
        self.assertEqual({p.id: p.evaluated_at for p in profiles[:2]}, evaluated)

    def test_a_run_stalled_on_a_failed_job_starts_afresh(self):
        self.Profile._request_full_refresh(companies=self.company)
        run = self.company.customer_tiering_run_id
        jobs = self.run_jobs()
        # Tonight's cron: the run is under way, its jobs wait: nothing new.
        self.Profile._cron_refresh()
        self.assertEqual(self.company.customer_tiering_run_id, run)
        # A batch failed for good, the others are done: the end waits forever.
        batches = jobs.filtered(lambda j: not j.identity_key.endswith(":end"))
        batches.write({"state": "done"})
        batches[0].write({"state": "failed"})
        (jobs - batches).write({"state": "wait_dependencies"})
        with self.assertLogs("odoo.addons.customer_tiering_queue_job", "WARNING"):
            self.Profile._cron_refresh()
        self.assertEqual(self.company.customer_tiering_run_id, run + 1)
        self.assertTrue(self.run_jobs(), "the new run's jobs")
        self.assertEqual(batches[0].state, "failed", "kept for the record")

    def test_a_superseded_run_does_nothing(self):
        run = self.start_run()
        with trap_jobs() as trap:
            self.Profile._cron_refresh()
            self.start_run()
            trap.perform_enqueued_jobs()
        self.assertTrue(all(p.refresh_run < run for p in self.profiles()))
        self.assertTrue(self.company.customer_tiering_run_start, "the new run")

    def test_a_serialization_failure_retries_the_job(self):
        run = self.start_run()
        cls = type(self.Profile)
        original = cls._write_rows

        def conflict(records, *args, **kwargs):
            records.env.cr.execute(CONFLICT)
            return original(records, *args, **kwargs)

        with trap_jobs() as trap:
            self.Profile._cron_refresh()
            job = next(
                j
                for j in trap.enqueued_jobs
                if j.method_name == "_customer_tiering_job_refresh"
            )
            with (
                patch.object(cls, "_write_rows", conflict),
                patch(
                    "odoo.addons.customer_tiering.models.fault_isolation.time"
                ) as clock,
                self.assertRaises(RetryableJobError) as raised,
                # queue_job rolls the job's transaction back.
                self.env.cr.savepoint(),
            ):
                job.perform()
            self.assertTrue(clock.sleep.called)
            self.assertEqual(raised.exception.seconds, 10)
            trap.assert_jobs_count(0, only=self.Profile._customer_tiering_job_customer)
            self.env.invalidate_all()
            self.assertFalse(self.profiles().filtered("refresh_error"))
            # Its retry, without the conflict, does the batch.
            job.perform()
        self.assertEqual(set(self.profiles().mapped("refresh_run")), {run})

    def test_a_bad_customer_fails_alone_with_its_name(self):
        run = self.start_run()
        bad = self.customers[0]
        original = refresh._evaluate

        def evaluate(settings, ladder, customer, scored, today):
            if customer.partner_id == bad.id:
                raise ValueError(f"poisoned figures of {bad.name}")
            return original(settings, ladder, customer, scored, today)

        profile = self.profile(bad)
        with trap_jobs() as trap, patch.object(refresh, "_evaluate", evaluate):
            self.Profile._cron_refresh(batch_size=3)
            batches = [
                j
                for j in trap.enqueued_jobs
                if j.method_name == "_customer_tiering_job_refresh"
            ]
            with self.assertLogs("odoo.addons.customer_tiering", "WARNING"):
                results = [job.perform() for job in batches]
            self.assertIn("1 failed", "".join(results))
            trap.assert_enqueued_job(
                self.Profile._customer_tiering_job_customer,
                args=(self.company.id, "refresh", profile.id),
                kwargs={"run": run, "cause": None},
                properties={
                    "identity_key": (
                        f"customer_tiering:refresh:{self.company.id}:{run}"
                        f":customer:{profile.id}"
                    )
                },
            )
            alone = next(
                j
                for j in trap.enqueued_jobs
                if j.method_name == "_customer_tiering_job_customer"
            )
            with self.assertRaises(FailedJobError) as raised:
                alone.perform()
        self.assertIn(bad.name, str(raised.exception))
        self.assertIn(f"poisoned figures of {bad.name}", str(raised.exception))
        # The others of its batch and of the run went through.
        others = self.profiles() - profile
        self.assertEqual(set(others.mapped("refresh_run")), {run})
        self.assertFalse(others.filtered("refresh_error"))
        self.assertIn("poisoned", profile.refresh_error)
        self.assertEqual(profile.refresh_run, run, "the run went on past it")

    def test_followups_one_job_per_batch_once(self):
        today = self.company._customer_tiering_today()
        profiles = self.profiles()
        self.uncheck_followups(profiles)
        with trap_jobs() as trap:
            self.Profile._cron_schedule_followups(batch_size=2)
            trap.assert_jobs_count(
                -(-len(profiles) // 2),
                only=self.Profile._customer_tiering_job_followups,
            )
            self.assertEqual(
                {job.channel for job in trap.enqueued_jobs},
                {"root.customer_tiering"},
            )
            trap.perform_enqueued_jobs()
        self.assertEqual(set(profiles.mapped("followups_checked_on")), {today})
        # Stored jobs: a second trigger adds none while they wait.
        self.uncheck_followups(profiles)
        Job = self.env["queue.job"]
        before = Job.search_count([])
        self.Profile._cron_schedule_followups(batch_size=2)
        middle = Job.search_count([])
        self.assertEqual(middle - before, -(-len(profiles) // 2))
        self.Profile._cron_schedule_followups(batch_size=2)
        self.assertEqual(Job.search_count([]), middle)

    def test_settings_show_the_run_progress(self):
        self.Profile._request_full_refresh(companies=self.company)
        jobs = self.run_jobs()
        settings = self.env["res.config.settings"].create({})
        self.assertEqual(settings.customer_tiering_jobs_total, len(jobs))
        self.assertEqual(settings.customer_tiering_jobs_done, 0)
        jobs[0].write({"state": "done", "date_done": fields.Datetime.now()})
        jobs[1].write({"state": "failed"})
        settings = self.env["res.config.settings"].create({})
        self.assertEqual(
            (
                settings.customer_tiering_jobs_done,
                settings.customer_tiering_jobs_total,
                settings.customer_tiering_jobs_failed,
            ),
            (1, len(jobs), 1),
        )
        self.assertEqual(
            settings.customer_tiering_jobs_progress,
            f"Current or last refresh: 1 of {len(jobs)} jobs done, 1 failed",
        )
        action = settings.action_customer_tiering_open_jobs()
        self.assertEqual(self.env["queue.job"].search(action["domain"]), jobs)
        view = self.env.ref("customer_tiering_queue_job.res_config_settings_view_form")
        self.assertIn("customer_tiering_jobs_progress", view.arch_db)
