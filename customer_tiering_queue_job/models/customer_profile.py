# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The nightly work of customer_tiering as queue_job jobs, one per batch.

The crons (and a configuration change) no longer do the batches themselves:
they enqueue one job per batch on the channel ``root.customer_tiering`` (the
system parameter ``customer_tiering.queue_job_channel``), and queue_job's
runner spreads the jobs over every worker of every server sharing the
database.  A job is one transaction: killed, it is rolled back and queue_job
requeues it; run again, it only does the profiles of its batch that are still
to do (``refresh_run`` below the run, follow-ups not checked today), so a
customer is never evaluated twice by one run.

Each job has an identity key (company, run or day, batch): a second trigger
enqueues nothing twice.  A job that hits a concurrency error is rolled back
and retried later (queue_job's retry pattern); a customer that fails on its
data is marked on its profile as in the cron path, and gets a job of its own
that fails alone, visibly, with the customer in its message (requeue it once
the data is fixed).
"""

import logging

from odoo import SUPERUSER_ID, api, models

from odoo.addons.customer_tiering.models.fault_isolation import (
    error_text,
    is_conflict,
)
from odoo.addons.queue_job.delay import group
from odoo.addons.queue_job.exception import FailedJobError, RetryableJobError

_logger = logging.getLogger(__name__)

CHANNEL_PARAM = "customer_tiering.queue_job_channel"
DEFAULT_CHANNEL = "root.customer_tiering"
# Pause before a job that met a concurrent update runs again (seconds).
CONFLICT_RETRY = 10


def refresh_key(company_id, run):
    """The identity-key prefix of the jobs of ``run`` of a company."""
    return f"customer_tiering:refresh:{company_id}:{run}"


def followups_key(company_id, day):
    """The identity-key prefix of the scheduler's jobs of ``day`` of a company."""
    return f"customer_tiering:followups:{company_id}:{day}"


class CustomerProfile(models.Model):
    _inherit = "customer.profile"

    # ------------------------------------------------------------------
    # The crons and a configuration change: enqueue
    # ------------------------------------------------------------------
    @api.model
    def _cron_refresh(self, batch_size=None, time_budget=None, max_batches=None):
        """Start the nightly run (or resume the run under way) as jobs:
        one per batch.  Returns the number of jobs enqueued."""
        companies = self.env["res.company"].search([])
        in_progress = companies.filtered("customer_tiering_run_start")
        if not in_progress:
            companies._customer_tiering_start_run("scheduled")
            in_progress = companies
        stalled = in_progress.filtered(self._customer_tiering_run_stalled)
        if stalled:
            # A batch job failed for good (its retries are over): the run
            # would wait for it forever.  The failed job stays for the
            # record; tonight's run starts afresh.
            _logger.warning(
                "customer_tiering: the run of %s stalled on a failed job; "
                "a new run starts",
                ", ".join(stalled.mapped("name")),
            )
            stalled._customer_tiering_start_run("scheduled")
        return sum(
            len(self._customer_tiering_enqueue_refresh(company, batch_size))
            for company in in_progress
        )

    @api.model
    def _customer_tiering_run_stalled(self, company):
        """Whether the current run of ``company`` has jobs, none of which
        will run again (a failed one holds the end of the run back)."""
        jobs = self._customer_tiering_run_jobs(company)
        return bool(jobs) and not jobs.filtered(
            lambda job: job.state in ("pending", "enqueued", "started")
        )

    @api.model
    def _request_full_refresh(self, reason="manual", companies=None):
        """Start the run and enqueue its batches at once (the cron is still
        triggered: it finds them enqueued and adds nothing)."""
        res = super()._request_full_refresh(reason=reason, companies=companies)
        # sudo: as in super, the run lives on the company.
        for company in (companies or self.env["res.company"].search([])).sudo():
            if company.customer_tiering_run_start:
                self._customer_tiering_enqueue_refresh(company)
        return res

    @api.model
    def _cron_schedule_followups(
        self, batch_size=None, time_budget=None, max_batches=None
    ):
        """Schedule the follow-ups as jobs: one per batch of the profiles not
        checked today.  Returns the number of jobs enqueued."""
        return sum(
            len(self._customer_tiering_enqueue_followups(company, batch_size))
            for company in self.env["res.company"].search([])
        )

    @api.model
    def _customer_tiering_delayable(self, company, key, description):
        """A delayable on this model in ``company``, run as the crons run
        (``base.user_root``: a configuration change by a manager enqueues
        the work the cron would have done), on the configured channel."""
        channel = (
            self.env["ir.config_parameter"].sudo().get_param(CHANNEL_PARAM)
            or DEFAULT_CHANNEL
        )
        return (
            self.with_user(SUPERUSER_ID)
            .with_company(company)
            .delayable(channel=channel, identity_key=key, description=description)
        )

    @api.model
    def _customer_tiering_enqueue_refresh(self, company, batch_size=None):
        """Enqueue one job per batch of the current run of ``company`` and
        the job that ends the run once they are done; nothing when the run's
        jobs were enqueued already.  Returns the enqueued delayables."""
        run = company.customer_tiering_run_id
        prefix = refresh_key(company.id, run)
        # sudo: the run's jobs, whoever triggers it (queue.job is for
        # queue_job managers).
        if (
            self.env["queue.job"]
            .sudo()
            .search_count([("identity_key", "=like", f"{prefix}:%")], limit=1)
        ):
            return []
        Profile = self.with_company(company)
        if not Profile._prepare_run(company):
            return []
        size = batch_size or int(
            self.env["ir.config_parameter"]
            .sudo()
            .get_param("customer_tiering.refresh_batch_size", 1000)
        )
        cause = "config" if company.customer_tiering_run_reason == "config" else None
        ranges, after = [], 0
        while batch := Profile._pending_batch(company, run, size, after):
            after = batch.ids[-1]
            ranges.append((batch.ids[0], after))
        batches = [
            self._customer_tiering_delayable(
                company,
                f"{prefix}:{number}",
                self.env._(
                    "Customer refresh of %(company)s, run %(run)s: batch "
                    "%(batch)s of %(total)s",
                    company=company.name,
                    run=run,
                    batch=number,
                    total=len(ranges),
                ),
            )._customer_tiering_job_refresh(company.id, run, first, last, size, cause)
            for number, (first, last) in enumerate(ranges, 1)
        ]
        end = self._customer_tiering_delayable(
            company,
            f"{prefix}:end",
            self.env._(
                "Customer refresh of %(company)s, run %(run)s: end",
                company=company.name,
                run=run,
            ),
        )._customer_tiering_job_end_run(company.id, run, size)
        if batches:
            group(*batches).on_done(end).delay()
        else:
            end.delay()
        return [*batches, end]

    @api.model
    def _customer_tiering_enqueue_followups(self, company, batch_size=None):
        """Enqueue one job per batch of the profiles of ``company`` not
        checked today.  A batch already waiting (same day, same profiles) is
        not enqueued again.  Returns the enqueued delayables."""
        size = batch_size or int(
            self.env["ir.config_parameter"]
            .sudo()
            .get_param("customer_tiering.followup_batch_size", 500)
        )
        today = company._customer_tiering_today()
        prefix = followups_key(company.id, today)
        ids = (
            self.with_company(company)
            .search(self._customer_tiering_followups_domain(company, today), order="id")
            ._ids
        )
        ranges = [
            (ids[start], ids[min(start + size, len(ids)) - 1])
            for start in range(0, len(ids), size)
        ]
        batches = []
        for number, (first, last) in enumerate(ranges, 1):
            batch = self._customer_tiering_delayable(
                company,
                f"{prefix}:{first}-{last}",
                self.env._(
                    "Follow-up scheduling of %(company)s, %(day)s: batch "
                    "%(batch)s of %(total)s",
                    company=company.name,
                    day=today,
                    batch=number,
                    total=len(ranges),
                ),
            )._customer_tiering_job_followups(company.id, first, last, size)
            # One job each: a batch waiting with the same key is kept as it
            # is, the others are enqueued.
            batch.delay()
            batches.append(batch)
        return batches

    @api.model
    def _customer_tiering_followups_domain(self, company, today):
        return [
            ("company_id", "=", company.id),
            "|",
            ("followups_checked_on", "=", False),
            ("followups_checked_on", "<", today),
        ]

    # ------------------------------------------------------------------
    # The jobs
    # ------------------------------------------------------------------
    @api.model
    def _customer_tiering_job_refresh(
        self, company_id, run, first_id, last_id, size, cause=None
    ):
        """One batch of ``run``: the profiles between ``first_id`` and
        ``last_id`` still to do."""
        company = self.env["res.company"].browse(company_id)
        if company.customer_tiering_run_id != run:
            return f"Run {run} was superseded by run {company.customer_tiering_run_id}."
        Profile = self.with_company(company)
        ids = [
            profile_id
            for profile_id in Profile._pending_batch(
                company, run, size, first_id - 1
            )._ids
            if profile_id <= last_id
        ]
        failed = Profile._refresh_isolated(
            ids, cause=cause, run=run, fresh_transaction=False
        )
        return self._customer_tiering_job_outcome(
            company, "refresh", ids, failed, {"run": run, "cause": cause}
        )

    @api.model
    def _customer_tiering_job_followups(self, company_id, first_id, last_id, size):
        """One batch of the scheduler: the profiles between ``first_id`` and
        ``last_id`` not checked today."""
        company = self.env["res.company"].browse(company_id)
        today = company._customer_tiering_today()
        Profile = self.with_company(company)
        ids = Profile.search(
            [
                *self._customer_tiering_followups_domain(company, today),
                ("id", ">=", first_id),
                ("id", "<=", last_id),
            ],
            order="id",
            limit=size,
        )._ids
        totals, failed = Profile._schedule_followups_isolated(
            list(ids), today, fresh_transaction=False
        )
        self._customer_tiering_job_outcome(company, "followups", ids, failed, {})
        return ", ".join(f"{name}: {count}" for name, count in sorted(totals.items()))

    def _customer_tiering_job_outcome(self, company, step, ids, failed, kwargs):
        """After a batch: a concurrency error retries the whole job (rolled
        back: within its snapshot it would only repeat); each customer that
        failed on its data (marked on its profile) gets a job of its own."""
        conflicts = sorted(p for p, error in failed.items() if is_conflict(error))
        if conflicts:
            raise RetryableJobError(
                f"Concurrent update of profiles {conflicts}: the batch is "
                "rolled back and retried.",
                seconds=CONFLICT_RETRY,
            )
        prefix = (
            refresh_key(company.id, kwargs["run"])
            if step == "refresh"
            else followups_key(company.id, company._customer_tiering_today())
        )
        for profile_id in failed:
            self._customer_tiering_delayable(
                company,
                f"{prefix}:customer:{profile_id}",
                self.env._(
                    "Customer profile %(profile)s of %(company)s, on its own",
                    profile=profile_id,
                    company=company.name,
                ),
            )._customer_tiering_job_customer(
                company.id, step, profile_id, **kwargs
            ).delay()
        return f"{len(ids) - len(failed)} customers done, {len(failed)} failed."

    @api.model
    def _customer_tiering_job_customer(
        self, company_id, step, profile_id, run=None, cause=None
    ):
        """One customer a batch could not do, alone: done when it goes
        through now (its data was fixed), else failed with the customer and
        the error in the job's message."""
        company = self.env["res.company"].browse(company_id)
        if step == "refresh" and company.customer_tiering_run_id != run:
            return f"Run {run} was superseded by run {company.customer_tiering_run_id}."
        profile = self.with_company(company).browse(profile_id).exists()
        if not profile:
            return "The profile was deleted."
        try:
            with self.env.cr.savepoint():
                if step == "refresh":
                    profile._refresh(cause=cause, run=run)
                else:
                    profile._schedule_followups()
        except Exception as error:  # pylint: disable=broad-except
            if is_conflict(error):
                raise RetryableJobError(
                    f"Concurrent update of profile {profile_id}.",
                    seconds=CONFLICT_RETRY,
                ) from error
            raise FailedJobError(
                self.env._(
                    "Customer %(customer)s (profile %(profile)s) failed: %(error)s",
                    customer=profile.partner_id.display_name,
                    profile=profile_id,
                    error=error_text(error),
                )
            ) from error
        return "Done."

    @api.model
    def _customer_tiering_job_end_run(self, company_id, run, size):
        """After the batches of ``run``: the profiles created since they
        were enqueued, then the run is over and the review figures follow."""
        company = self.env["res.company"].browse(company_id)
        if (
            company.customer_tiering_run_id != run
            or not company.customer_tiering_run_start
        ):
            return "The run is not under way."
        Profile = self.with_company(company)
        cause = "config" if company.customer_tiering_run_reason == "config" else None
        after = 0
        while batch := Profile._pending_batch(company, run, size, after):
            after = batch.ids[-1]
            failed = Profile._refresh_isolated(
                batch.ids, cause=cause, run=run, fresh_transaction=False
            )
            self._customer_tiering_job_outcome(
                company, "refresh", batch.ids, failed, {"run": run, "cause": cause}
            )
        company.customer_tiering_run_start = False
        self.env["customer.tier.review.report"]._request_figures()
        return "Run over."

    # ------------------------------------------------------------------
    # Progress (Settings)
    # ------------------------------------------------------------------
    @api.model
    def _customer_tiering_run_jobs(self, company):
        """The jobs of the current run of ``company``."""
        # sudo: counts for the tiering managers, who need not be queue_job
        # managers.
        return (
            self.env["queue.job"]
            .sudo()
            .search(
                [
                    (
                        "identity_key",
                        "=like",
                        f"{refresh_key(company.id, company.customer_tiering_run_id)}:%",
                    )
                ]
            )
        )

    @api.model
    def _customer_tiering_run_progress(self, company):
        """``(done, total, failed)`` jobs of the current run of ``company``."""
        states = self._customer_tiering_run_jobs(company).mapped("state")
        return (
            states.count("done"),
            len(states),
            states.count("failed"),
        )
