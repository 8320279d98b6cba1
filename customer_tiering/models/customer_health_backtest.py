# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import bisect
import calendar
import contextlib
import dataclasses
import datetime
import json
import logging
import threading
import time
from collections import defaultdict
from types import MappingProxyType

from dateutil.relativedelta import relativedelta
from markupsafe import Markup, escape

from odoo import Command, api, fields, models
from odoo.exceptions import UserError, ValidationError
from odoo.models import LOG_ACCESS_COLUMNS
from odoo.tools import SQL

from ..engine import backtest, health
from .customer_health_dimension import DIMENSION_KEYS
from .sql_arrays import insert_rows

_logger = logging.getLogger(__name__)

STATES = [
    ("draft", "Draft"),
    ("running", "Running"),
    ("done", "Done"),
    ("failed", "Failed"),
]
CRON = "customer_tiering.ir_cron_run_backtests"
# The raw values of an evaluation the measures read without them (shared).
NO_RAW = MappingProxyType({})


class CustomerHealthBacktest(models.Model):
    """A backtest of the health score: every customer evaluated on past days
    (``customer.profile._outcomes_as_of``, nothing written), labelled from
    its orders after each day and measured (``engine.backtest``).

    Runs in the background (``_cron_run_backtests``), one evaluation day at
    a time: each day's evaluations are stored compactly on a
    ``customer.health.backtest.day`` and committed, so that a killed run
    resumes at the next day."""

    _name = "customer.health.backtest"
    _description = "Customer Health Backtest"
    _inherit = ["mail.thread"]
    _order = "id desc"
    _check_company_auto = True

    name = fields.Char(required=True, default=lambda self: self.env._("Backtest"))
    company_id = fields.Many2one(
        "res.company",
        required=True,
        index=True,
        default=lambda self: self.env.company,
    )
    state = fields.Selection(
        STATES, default="draft", required=True, readonly=True, tracking=True
    )
    scorecard = fields.Selection(
        [("live", "Live Scorecard"), ("draft", "Draft Scorecard")],
        default="live",
        required=True,
        help="The live scorecard is the company's health scorecard; a draft is "
        "a copy with other weights and thresholds, edited here.",
    )
    draft_line_ids = fields.One2many(
        "customer.health.backtest.weight", "backtest_id", string="Draft Scorecard"
    )
    compare_with_id = fields.Many2one(
        "customer.health.backtest",
        string="Compared With",
        domain="[('company_id', '=', company_id), ('id', '!=', id)]",
        check_company=True,
        help="Another backtest (the live scorecard on the same days) shown next "
        "to this one.",
    )
    date_from = fields.Date(string="First Evaluation Day", required=True)
    date_to = fields.Date(string="Last Evaluation Day", required=True)
    step = fields.Selection(
        [("month", "Month-ends"), ("week", "Weekly")],
        default="month",
        required=True,
    )
    horizon_days = fields.Integer(
        string="Horizon (Days)",
        default=90,
        help="A flag counts for a churner when it comes at most this many days "
        "before or after its last order.",
    )
    churn_definition = fields.Selection(
        [
            ("inactivity", "No Confirmed Order"),
            ("revenue", "Revenue Fall"),
        ],
        default="inactivity",
        required=True,
    )
    after_days = fields.Integer(
        string="Churn Window (Days)",
        default=180,
        help="A customer active in the days before an evaluation day churned "
        "when it has no confirmed order (or its revenue fell) in this many days "
        "after it. Evaluation days less than this many days ago cannot be "
        "labelled yet.",
    )
    revenue_pct = fields.Float(
        string="Revenue Below (%)",
        default=50.0,
        help="Revenue fall: churned when the revenue of the window after is "
        "below this share of the window before.",
    )
    error_message = fields.Text(readonly=True)
    suggest_state = fields.Selection(
        [
            ("queued", "Suggesting Weights…"),
            ("done", "Weights Suggested"),
            ("failed", "Suggestion Failed"),
        ],
        string="Weight Suggestion",
        readonly=True,
        copy=False,
    )
    suggest_error = fields.Text(string="Suggestion Error", readonly=True, copy=False)
    suggest_user_id = fields.Many2one(
        "res.users",
        string="Suggestion Asked By",
        readonly=True,
        copy=False,
        help="Whose language the suggested draft is written in.",
    )
    suggested_id = fields.Many2one(
        "customer.health.backtest",
        string="Suggested Draft",
        readonly=True,
        copy=False,
        check_company=True,
    )
    days_done = fields.Integer(readonly=True)
    days_total = fields.Integer(readonly=True)
    progress = fields.Float(compute="_compute_progress")
    day_ids = fields.One2many("customer.health.backtest.day", "backtest_id")
    # Results (for reports and integrators)
    precision = fields.Float(
        string="Precision (At Risk)",
        readonly=True,
        digits=(16, 4),
        help="Share of the at-risk flags whose customer churned.",
    )
    recall = fields.Float(
        string="Recall (At Risk)",
        readonly=True,
        digits=(16, 4),
        help="Share of the churned customers (per evaluation day) flagged at risk.",
    )
    precision_watch = fields.Float(
        string="Precision (At Risk or Watch)", readonly=True, digits=(16, 4)
    )
    recall_watch = fields.Float(
        string="Recall (At Risk or Watch)", readonly=True, digits=(16, 4)
    )
    lead_time_days = fields.Float(
        string="Lead Time (Days)",
        readonly=True,
        help="Median days between the first counting at-risk flag and the "
        "churner's last order (negative: flagged after it).",
    )
    never_flagged_share = fields.Float(
        string="Churners Never Flagged", readonly=True, digits=(16, 4)
    )
    evaluated_count = fields.Integer(string="Labelled Evaluations", readonly=True)
    churner_count = fields.Integer(string="Churners", readonly=True)
    caught_count = fields.Integer(string="Churners Caught", readonly=True)
    result_data = fields.Json(readonly=True)
    result_html = fields.Html(
        string="Results", compute="_compute_result_html", sanitize=False
    )
    line_ids = fields.One2many(
        "customer.health.backtest.line", "backtest_id", string="Customers"
    )
    compare_state = fields.Selection(
        related="compare_with_id.state", string="Compared State"
    )
    compare_precision = fields.Float(
        related="compare_with_id.precision", string="Compared Precision (At Risk)"
    )
    compare_recall = fields.Float(
        related="compare_with_id.recall", string="Compared Recall (At Risk)"
    )
    compare_precision_watch = fields.Float(
        related="compare_with_id.precision_watch",
        string="Compared Precision (At Risk or Watch)",
    )
    compare_recall_watch = fields.Float(
        related="compare_with_id.recall_watch",
        string="Compared Recall (At Risk or Watch)",
    )
    compare_lead_time_days = fields.Float(
        related="compare_with_id.lead_time_days", string="Compared Lead Time (Days)"
    )
    compare_never_flagged_share = fields.Float(
        related="compare_with_id.never_flagged_share",
        string="Compared Churners Never Flagged",
    )
    compare_churner_count = fields.Integer(
        related="compare_with_id.churner_count", string="Compared Churners"
    )

    @api.constrains("date_from", "date_to", "horizon_days", "after_days", "revenue_pct")
    def _check_parameters(self):
        for run in self:
            if run.date_from > run.date_to:
                raise ValidationError(
                    self.env._("The first evaluation day must be before the last.")
                )
            if run.horizon_days < 0 or run.after_days < 1:
                raise ValidationError(
                    self.env._(
                        "The horizon cannot be negative and the churn window "
                        "must be at least one day."
                    )
                )
            if not 0 < run.revenue_pct <= 100:
                raise ValidationError(
                    self.env._("The revenue share must be above 0 and at most 100.")
                )

    @api.depends("days_done", "days_total")
    def _compute_progress(self):
        for run in self:
            run.progress = (
                100.0 * run.days_done / run.days_total if run.days_total else 0.0
            )

    # ------------------------------------------------------------------
    # Draft scorecard
    # ------------------------------------------------------------------
    @api.model_create_multi
    def create(self, vals_list):
        runs = super().create(vals_list)
        for run in runs:
            if run.scorecard == "draft" and not run.draft_line_ids:
                run._copy_live_scorecard()
        return runs

    def write(self, vals):
        res = super().write(vals)
        if vals.get("scorecard") == "draft":
            for run in self.filtered(lambda r: not r.draft_line_ids):
                run._copy_live_scorecard()
        return res

    def _copy_live_scorecard(self):
        self.ensure_one()
        dimensions = self.env["customer.health.dimension"]._get_scorecard(
            self.company_id
        )
        self.env["customer.health.backtest.weight"].create(
            [
                {
                    "backtest_id": self.id,
                    "sequence": sequence,
                    "key": dim.key,
                    "weight": dim.weight,
                    "good": dim.good,
                    "bad": dim.bad,
                    "enabled": dim.enabled,
                }
                for sequence, dim in enumerate(dimensions, start=1)
            ]
        )

    def _scorecard_dimensions(self):
        """The engine's scorecard this run evaluates with."""
        self.ensure_one()
        if self.scorecard == "live":
            return tuple(
                self.env["customer.health.dimension"]._get_scorecard(self.company_id)
            )
        dimensions = tuple(line._to_dimension() for line in self.draft_line_ids)
        problems = health.scorecard_problems(dimensions)
        if problems:
            raise UserError(
                self.env["customer.health.dimension"]._problem_message(
                    problems[0], self.company_id
                )
            )
        return dimensions

    def _settings(self):
        settings = self.env["customer.profile"]._refresh_settings(self.company_id)
        return dataclasses.replace(settings, scorecard=self._scorecard_dimensions())

    def _rule(self):
        return backtest.ChurnRule(
            definition=self.churn_definition,
            after_days=self.after_days,
            revenue_pct=self.revenue_pct,
        )

    def _evaluation_days(self):
        """The evaluation days: month-ends or weekly from the first day."""
        self.ensure_one()
        days = []
        if self.step == "week":
            day = self.date_from
            while day <= self.date_to:
                days.append(day)
                day += datetime.timedelta(days=7)
            return days
        year, month = self.date_from.year, self.date_from.month
        while True:
            day = datetime.date(year, month, calendar.monthrange(year, month)[1])
            if day > self.date_to:
                return days
            if day >= self.date_from:
                days.append(day)
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)

    # ------------------------------------------------------------------
    # Actions
    # ------------------------------------------------------------------
    def action_start(self):
        """Queue the run: the cron evaluates its days in the background."""
        for run in self:
            if run.state == "running":
                continue
            if run.date_to >= run.company_id._customer_tiering_today():
                raise UserError(
                    self.env._("The last evaluation day must be in the past.")
                )
            days = run._evaluation_days()
            if not days:
                raise UserError(
                    self.env._("No evaluation day between these dates (month-ends).")
                )
            run._settings()  # a UserError now rather than a failed run
            # Who starts it follows it: the form they watch is told of the
            # progress (_notify_forms).
            run.message_subscribe(partner_ids=self.env.user.partner_id.ids)
            run.day_ids.unlink()
            run.line_ids.unlink()
            run.write(
                {
                    "state": "running",
                    "error_message": False,
                    "days_done": 0,
                    "days_total": len(days),
                    "result_data": False,
                    # A suggestion searches the evaluations about to change.
                    "suggest_state": False,
                    "suggest_error": False,
                }
            )
        self._trigger_cron()
        return True

    def _trigger_cron(self):
        # sudo: managers queue work; the scheduler's trigger is technical.
        self.env.ref(CRON).sudo()._trigger()

    def _notify_forms(self):
        """Tell the open forms of these runs to reload (bus notification to
        their creator's and followers' partners; ``backtest_live`` widget)."""
        for run in self:
            partners = (
                run.message_partner_ids
                | run.create_uid.partner_id
                | run.suggest_user_id.partner_id
            )
            partners._bus_send(
                "customer_tiering.backtest_changed",
                {"id": run.id, "state": run.state},
            )

    def action_reset(self):
        self.filtered(lambda r: r.state != "running").write({"state": "draft"})
        return True

    def action_cancel(self):
        """Stop a run under way (back to draft; its days are dropped)."""
        running = self.filtered(lambda r: r.state == "running")
        running.day_ids.unlink()
        running.write({"state": "draft", "days_done": 0})
        return True

    def action_new_draft(self):
        """A draft scorecard backtest on the same days, compared with this one."""
        self.ensure_one()
        draft = self.copy(
            {
                "name": self.env._("%s (draft)", self.name),
                "scorecard": "draft",
                "compare_with_id": self.id,
            }
        )
        if self.scorecard == "draft":  # its own draft, not the live one
            draft.draft_line_ids.unlink()
            self.draft_line_ids.copy({"backtest_id": draft.id})
        return draft._open_form()

    def _open_form(self):
        return {
            "type": "ir.actions.act_window",
            "res_model": self._name,
            "res_id": self.id,
            "view_mode": "form",
            "target": "current",
        }

    def action_apply_draft(self):
        """Make the draft the company's live scorecard; the old and new
        weights are kept in this run's chatter."""
        self.ensure_one()
        if self.scorecard != "draft":
            raise UserError(self.env._("Only a draft scorecard can be applied."))
        dimensions = self._scorecard_dimensions()  # checked
        Dimension = self.env["customer.health.dimension"]
        live = {
            line.key: line
            for line in Dimension.search([("company_id", "=", self.company_id.id)])
        }
        labels = dict(Dimension._fields["key"]._description_selection(self.env))
        rows = []
        for dim in dimensions:
            line = live.get(dim.key)
            if line is None:
                continue
            old = (line.enabled, line.weight, line.good, line.bad)
            new = (dim.enabled, dim.weight, dim.good, dim.bad)
            if old != new:
                rows.append((labels.get(dim.key, dim.key), old, new))
                line.write(
                    {
                        "enabled": dim.enabled,
                        "weight": dim.weight,
                        "good": dim.good,
                        "bad": dim.bad,
                    }
                )
        if not rows:
            raise UserError(self.env._("The draft is the live scorecard already."))

        def show(values):
            enabled, weight, good, bad = values
            if not enabled:
                return self.env._("off")
            # Numbers formatted first: the term extractor cannot read
            # f-strings among the arguments.
            numbers = {"weight": weight, "good": good, "bad": bad}
            numbers = {key: f"{value:g}" for key, value in numbers.items()}
            return self.env._(
                "weight %(weight)s, 100 at %(good)s, 0 at %(bad)s", **numbers
            )

        body = Markup("<p>%s</p><ul>%s</ul>") % (
            self.env._("Draft applied to the live scorecard:"),
            Markup().join(
                Markup("<li>%s: %s → %s</li>") % (label, show(old), show(new))
                for label, old, new in rows
            ),
        )
        self.message_post(body=body)
        return True

    def action_suggest_weights(self):
        """Queue a search of weights over this run's stored evaluations (the
        cron runs it: ``_suggest``); the result is a new draft backtest."""
        self.ensure_one()
        self._suggestion_base()  # a UserError now rather than a failed search
        self.write(
            {
                "suggest_state": "queued",
                "suggest_error": False,
                "suggested_id": False,
                "suggest_user_id": self.env.user.id,
            }
        )
        self._trigger_cron()
        return True

    def _suggestion_base(self):
        """The finished backtest of the live scorecard whose recall a
        suggestion keeps (this run or the one it is compared with)."""
        self.ensure_one()
        if self.state != "done":
            raise UserError(self.env._("Suggestions need a finished backtest."))
        live = self if self.scorecard == "live" else self.compare_with_id
        if not live or live.state != "done":
            raise UserError(
                self.env._(
                    "Compare this draft with a finished backtest of the live "
                    "scorecard first: its recall is the one to keep."
                )
            )
        return live

    def _suggest(self):
        """Search weights (engine ``suggest_weights``): the best precision of
        "at risk" at a recall no lower than the live scorecard's; a new
        draft backtest with them, not run yet."""
        self.ensure_one()
        live = self._suggestion_base()
        evaluations = self._stored_evaluations()
        labels = self._labels(evaluations)
        dimensions = self._scorecard_dimensions()
        company = self.company_id
        suggestion = backtest.suggest_weights(
            dimensions,
            evaluations,
            labels,
            cutoffs=(
                company.customer_health_healthy_min,
                company.customer_health_watch_min,
            ),
            min_recall=live.recall,
        )
        draft = self.copy(
            {
                "name": self.env._("%s (suggested weights)", live.name),
                "scorecard": "draft",
                "compare_with_id": live.id,
            }
        )
        draft.draft_line_ids.unlink()
        self.env["customer.health.backtest.weight"].create(
            [
                {
                    "backtest_id": draft.id,
                    "sequence": sequence,
                    "key": dim.key,
                    "weight": dim.weight,
                    "good": dim.good,
                    "bad": dim.bad,
                    "enabled": dim.enabled,
                }
                for sequence, dim in enumerate(
                    backtest.reweighted(dimensions, suggestion.weights), start=1
                )
            ]
        )
        result = suggestion.result
        draft.message_post(
            body=self.env._(
                "Weights suggested from %(run)s: over its evaluations, precision "
                "%(precision)s and recall %(recall)s (the scorecard's: "
                "%(start_precision)s and %(start_recall)s).",
                run=self.name,
                precision=_pct(result.precision),
                recall=_pct(result.recall),
                start_precision=_pct(suggestion.start_result.precision),
                start_recall=_pct(suggestion.start_result.recall),
            ),
            author_id=self.suggest_user_id.partner_id.id or None,
        )
        return draft

    def action_open_suggested(self):
        self.ensure_one()
        return self.suggested_id._open_form()

    # ------------------------------------------------------------------
    # Demo data
    # ------------------------------------------------------------------
    @api.model
    def _demo_backtest(self, foreseeable_id, silent_id, product_id):
        """Demo data: the order histories of two customers who stopped
        ordering nine months ago (``foreseeable_id`` ordered less in its last
        months and left an invoice unpaid; ``silent_id`` ordered every month
        until it stopped), then a backtest of the month-ends of the year and a
        half before the last six months (whose future is known), run at once
        (no commit: this is the install)."""
        company = self.env.ref("base.main_company")
        today = company._customer_tiering_today()
        stop = today - relativedelta(months=9)
        before = {
            # Months before the stop: monthly, then every other one, smaller.
            foreseeable_id: [(m, 90_000) for m in range(14, 3, -1)]
            + [(2, 40_000), (0, 30_000)],
            silent_id: [(m, 60_000) for m in range(14, -1, -1)],
        }
        values = [
            {
                "partner_id": partner_id,
                "date_order": datetime.datetime.combine(
                    stop - relativedelta(months=months), datetime.time(9)
                ),
                "state": "sale",
                "order_line": [
                    Command.create(
                        {
                            "product_id": product_id,
                            "product_uom_qty": 1,
                            "price_unit": amount,
                        }
                    )
                ],
            }
            for partner_id, history in before.items()
            for months, amount in history
        ]
        # The figures follow below, once for both customers.
        orders = (
            self.env["sale.order"]
            .with_context(customer_tiering_skip=True)
            .create(values)
        )
        invoice = (
            self.env["account.move"]
            .with_context(customer_tiering_skip=True)
            .create(
                {
                    "move_type": "out_invoice",
                    "partner_id": foreseeable_id,
                    "invoice_date": stop - relativedelta(months=2),
                    "invoice_date_due": stop - relativedelta(months=1),
                    "invoice_line_ids": [
                        Command.create(
                            {
                                "product_id": product_id,
                                "quantity": 1,
                                "price_unit": 40_000,
                                "tax_ids": [Command.clear()],
                            }
                        )
                    ],
                }
            )
        )
        invoice.action_post()
        # Demo records of this addon: uninstalling it removes them (before
        # the customers they belong to).
        self.env["ir.model.data"]._update_xmlids(
            [
                {
                    "xml_id": f"customer_tiering.demo_order_churn_{index}",
                    "record": order,
                    "noupdate": True,
                }
                for index, order in enumerate(orders)
            ]
            + [
                {
                    "xml_id": "customer_tiering.demo_invoice_huaxia",
                    "record": invoice,
                    "noupdate": True,
                }
            ]
        )
        partners = self.env["res.partner"].browse([foreseeable_id, silent_id])
        self.env["customer.profile"].with_context(
            customer_tiering_defer_followups=True
        )._refresh_partners(partners, companies=company)
        run = self.create(
            {
                "name": self.env._("Health backtest of the last year"),
                "company_id": company.id,
                "date_from": today - relativedelta(months=24),
                "date_to": today - relativedelta(days=185),
            }
        )
        run.action_start()
        run._run_days(float("inf"), auto_commit=False)

    # ------------------------------------------------------------------
    # The background run
    # ------------------------------------------------------------------
    @api.model
    def _cron_run_backtests(self, time_budget=None):
        """Evaluate the pending days of the running backtests, one day at a
        time, each committed (not in tests); finish the runs whose days are
        all done; then search the queued weight suggestions, one at a time
        (each in one transaction: a killed search starts again).  An error
        fails its run or its suggestion (logged), not the cron."""
        params = self.env["ir.config_parameter"].sudo()
        time_budget = time_budget or int(
            params.get_param("customer_tiering.backtest_time_budget", 240)
        )
        auto_commit = not getattr(threading.current_thread(), "testing", False)
        deadline = time.monotonic() + time_budget
        runs = self.search([("state", "=", "running")], order="id")
        for run in runs:
            try:
                # In tests a savepoint undoes a failed run's partial work; in
                # a cron the rollback does (the days before are committed).
                with self._unit_of_work(auto_commit):
                    finished = run._run_days(deadline, auto_commit)
            except Exception as error:  # pylint: disable=broad-except
                if auto_commit:
                    self.env.cr.rollback()
                self.env.invalidate_all()
                _logger.exception("customer_tiering: backtest %s failed", run.id)
                run.write({"state": "failed", "error_message": str(error)})
                run._notify_forms()
                finished = True
            if auto_commit:
                self.env.cr.commit()  # pylint: disable=invalid-commit
            if not finished:
                break
        suggested = 0
        for run in self.search([("suggest_state", "=", "queued")], order="id"):
            if time.monotonic() > deadline:
                break
            run._run_suggestion(auto_commit)
            suggested += 1
        pending = self.search([("state", "=", "running")])
        queued = self.search_count([("suggest_state", "=", "queued")])
        done = sum(runs.mapped("days_done")) + suggested
        self.env["ir.cron"]._notify_progress(
            done=done,
            remaining=sum(pending.mapped("days_total"))
            - sum(pending.mapped("days_done"))
            + queued,
        )
        return done

    def _unit_of_work(self, auto_commit):
        return contextlib.nullcontext() if auto_commit else self.env.cr.savepoint()

    def _run_suggestion(self, auto_commit):
        """Make the queued suggestion's draft (``_suggest``), or store why
        not; committed (not in tests)."""
        self.ensure_one()
        # The draft's name and note in the language of who asked.
        run = self.with_context(lang=self.suggest_user_id.lang or self.env.lang)
        try:
            with self._unit_of_work(auto_commit):
                draft = run._suggest()
                run.write({"suggest_state": "done", "suggested_id": draft.id})
        except Exception as error:  # pylint: disable=broad-except
            if auto_commit:
                self.env.cr.rollback()
            self.env.invalidate_all()
            _logger.exception("customer_tiering: suggestion of %s failed", self.id)
            run.write({"suggest_state": "failed", "suggest_error": str(error)})
        run._notify_forms()
        if auto_commit:
            self.env.cr.commit()  # pylint: disable=invalid-commit

    def _run_days(self, deadline, auto_commit):
        """Evaluate this run's pending days; True when the run is finished."""
        self.ensure_one()
        company = self.company_id
        Profile = self.env["customer.profile"].with_company(company)
        settings = self._settings()
        days = self._evaluation_days()
        stored = set(self.day_ids.mapped("day"))
        histories = None
        # What the sources read ahead for the next days (see Scope.memo).
        memo = {}
        # Every day evaluated in this call (not resumed): the final measuring
        # takes the evaluations from here rather than read them back.
        evaluated = None if stored else []
        for day in days:
            if day in stored:
                continue
            if time.monotonic() > deadline:
                return False
            if histories is None:
                histories = self._histories()
                profiles = self._profile_ids()
            before = day - datetime.timedelta(days=self._rule().before_days)
            # Only customers active before the day can be labelled.
            profile_of = {
                partner_id: profiles.get(partner_id)
                for partner_id, (order_days, __) in histories.items()
                if bisect.bisect_right(order_days, day)
                > bisect.bisect_right(order_days, before)
            }
            keys = [dim.key for dim in settings.scorecard]
            rows = []
            ahead = [d for d in days if d > day and d not in stored]
            for outcomes in Profile._outcomes_as_of(
                company, day, profile_of, settings, ahead=ahead, memo=memo
            ):
                for o in outcomes:
                    raw = o.health_data.get("raw") or {}
                    rows.append(
                        [
                            o.partner_id,
                            o.tier_id,
                            o.health_band,
                            o.health_score,
                            list(o.reasons),
                            [raw.get(key) for key in keys],
                        ]
                    )
                    if evaluated is not None:
                        evaluated.append(
                            backtest.Evaluation(
                                day,
                                o.partner_id,
                                o.tier_id,
                                o.health_band,
                                o.health_score,
                                NO_RAW,
                                tuple(o.reasons),
                            )
                        )
            self._store_day(day, keys, rows)
            self.days_done = len(stored) + 1
            stored.add(day)
            self._notify_forms()
            self.env["ir.cron"]._notify_progress(
                done=self.days_done, remaining=len(days) - self.days_done
            )
            if auto_commit:
                self.env.cr.commit()  # pylint: disable=invalid-commit
        self._finish(histories, evaluated)
        self._notify_forms()
        return True

    def _store_day(self, day, keys, rows):
        """Store the evaluations of ``day`` (see the day model).  In SQL:
        the ORM's create encodes and decodes a Json value to cache it (ten
        megabytes a day at 100,000 customers: two thirds of the time of
        storing a day).  No access check, as with the lines (see _finish):
        only the run's own scheduler gets here."""
        self.env.cr.execute(
            SQL(
                """
                INSERT INTO customer_health_backtest_day
                       (backtest_id, day, dimension_keys, rows,
                        create_uid, create_date, write_uid, write_date)
                VALUES (%(run)s, %(day)s, %(keys)s, %(rows)s,
                        %(uid)s, %(now)s, %(uid)s, %(now)s)
                """,
                run=self.id,
                day=day,
                keys=json.dumps(keys),
                rows=json.dumps(rows),
                uid=self.env.uid,
                now=self.env.cr.now(),
            )
        )
        self.invalidate_recordset(["day_ids"])

    def _histories(self):
        """``{commercial partner id: [engine Order]}`` of the company's
        confirmed orders (one SQL), by local order day, company currency."""
        self.env.flush_all()
        tz = self.company_id._customer_tiering_tz_name()
        self.env.cr.execute(
            SQL(
                """
                SELECT p.commercial_partner_id,
                       (so.date_order AT TIME ZONE 'UTC' AT TIME ZONE %(tz)s)::date,
                       COALESCE(so.amount_untaxed / NULLIF(so.currency_rate, 0), 0)
                  FROM sale_order so
                  JOIN res_partner p ON p.id = so.partner_id
                 WHERE so.state = 'sale' AND so.company_id = %(company)s
                 ORDER BY 1, 2
                """,
                tz=tz,
                company=self.company_id.id,
            )
        )
        histories = defaultdict(list)
        for partner_id, day, amount in self.env.cr.fetchall():
            histories[partner_id].append(backtest.Order(day, float(amount)))
        # With the sorted order days of each customer (who was active when).
        return {
            partner_id: ([o.day for o in orders], orders)
            for partner_id, orders in histories.items()
        }

    def _profile_ids(self):
        self.env.cr.execute(
            SQL(
                "SELECT partner_id, id FROM customer_profile WHERE company_id = %s",
                self.company_id.id,
            )
        )
        return dict(self.env.cr.fetchall())

    def _stored_evaluations(self, with_raw=True):
        """The engine's evaluations of the stored days; ``with_raw=False``:
        without the raw values (the measures do not read them, only the
        weight search does): PostgreSQL drops them, decoding them in Python
        took 11 of the 25 s of a run's final measuring at 100,000 customers."""
        evaluations = []
        # Read in SQL: the ORM's Json field deep-copies every value it reads
        # (half of a run's final measuring at 20,000 customers).
        self.env["customer.health.backtest.day"].flush_model()
        column = SQL("rows")
        if not with_raw:
            # A day's rows are [partner, tier, band, score, reasons, raw]
            # (see _run_days): element 5 goes.
            column = SQL(
                "(SELECT jsonb_agg(r.value - 5 ORDER BY r.n) "
                "FROM jsonb_array_elements(rows) WITH ORDINALITY AS r(value, n))"
            )
        self.env.cr.execute(
            SQL(
                "SELECT day, dimension_keys, %s FROM customer_health_backtest_day "
                "WHERE backtest_id = %s ORDER BY day, id",
                column,
                self.id,
            )
        )
        for day, keys, rows in self.env.cr.fetchall():
            for partner_id, tier_id, band, score, reasons, *raw in rows or ():
                evaluations.append(
                    backtest.Evaluation(
                        day,
                        partner_id,
                        tier_id,
                        band,
                        score,
                        dict(zip(keys, raw[0], strict=True)) if with_raw else NO_RAW,
                        tuple(reasons),
                    )
                )
        return evaluations

    def _labels(self, evaluations, histories=None):
        histories = self._histories() if histories is None else histories
        return backtest.label_churn(
            {partner_id: orders for partner_id, (__, orders) in histories.items()},
            {(e.day, e.partner_id) for e in evaluations},
            self.company_id._customer_tiering_today(),
            self._rule(),
        )

    def _finish(self, histories=None, evaluations=None):
        """Label and measure the stored evaluations (or ``evaluations``,
        the same without their raw values); store the results."""
        if evaluations is None:
            evaluations = self._stored_evaluations(with_raw=False)
        labels = self._labels(evaluations, histories)
        result = backtest.run_backtest(evaluations, labels, self.horizon_days)
        at_risk = result.overall["at_risk"]
        watch = result.overall["at_risk_or_watch"]
        self.line_ids.unlink()
        # In bulk (tens of thousands of lines at 100,000 customers): no
        # default, compute or constraint of these fields needs the ORM's
        # create, the log columns are given.  No access check, as with the
        # day records: only the run's own scheduler (or the demo data) gets
        # here, on a run a tiering manager started.
        now = self.env.cr.now()
        log = dict.fromkeys(LOG_ACCESS_COLUMNS, self.env.uid)
        log.update(create_date=now, write_date=now)
        rows = [
            {
                **log,
                "backtest_id": self.id,
                "company_id": self.company_id.id,
                "partner_id": o.partner_id,
                "churned": bool(o.churned),
                "churn_day": o.churn_day or None,
                "flagged_on": o.flagged_on or None,
                "lead_days": o.lead_days or 0,
                "reason_keys": ",".join(o.reasons),
                "tier_id": o.tier if isinstance(o.tier, int) else None,
            }
            for o in result.customers
            if o.churned or o.flagged_on
        ]
        if rows:
            insert_rows(self.env["customer.health.backtest.line"], rows)
        self.write(
            {
                "state": "done",
                "precision": at_risk.precision or 0.0,
                "recall": at_risk.recall or 0.0,
                "precision_watch": watch.precision or 0.0,
                "recall_watch": watch.recall or 0.0,
                "lead_time_days": result.lead_time_days or 0.0,
                "never_flagged_share": result.never_flagged_share or 0.0,
                "evaluated_count": at_risk.total,
                "churner_count": result.churners,
                "caught_count": result.caught,
                "result_data": {
                    "overall": {k: list(v) for k, v in result.overall.items()},
                    "days": [
                        [day.isoformat(), {k: list(v) for k, v in tables.items()}]
                        for day, tables in result.days.items()
                    ],
                    "bands": {str(k or ""): list(v) for k, v in result.bands.items()},
                    "tiers": {str(k or ""): list(v) for k, v in result.tiers.items()},
                },
            }
        )

    # ------------------------------------------------------------------
    # Result tables
    # ------------------------------------------------------------------
    @api.depends("result_data")
    def _compute_result_html(self):
        bands = dict(
            self.env["customer.profile"]
            ._fields["health_band"]
            ._description_selection(self.env)
        )
        Tier = self.env["customer.tier"].with_context(active_test=False)
        for run in self:
            data = run.result_data
            if not data:
                run.result_html = False
                continue
            none = self.env._("No data")
            band_rows = [
                (bands.get(key, none) if key else none, *counts)
                for key, counts in sorted(
                    data["bands"].items(),
                    key=lambda kv: (
                        backtest.BANDS.index(kv[0]) if kv[0] in backtest.BANDS else -1
                    ),
                )
            ]
            tier_rows = [
                (
                    Tier.browse(int(key)).exists().display_name or none
                    if key
                    else none,
                    *counts,
                )
                for key, counts in sorted(data["tiers"].items())
            ]
            group_head = (
                self.env._("Evaluations"),
                self.env._("Churned"),
                self.env._("Churn Share"),
            )

            def group_table(title, rows, head=group_head):
                return _table(
                    (title, *head),
                    [
                        (
                            label,
                            count,
                            churned,
                            _pct(churned / count if count else None),
                        )
                        for label, count, churned in rows
                    ],
                )

            day_head = (
                self.env._("Evaluation Day"),
                self.env._("Flagged, Churned"),
                self.env._("Flagged, Stayed"),
                self.env._("Missed"),
                self.env._("Not Flagged, Stayed"),
                self.env._("Precision"),
                self.env._("Recall"),
            )
            day_rows = []
            for day, tables in data["days"]:
                confusion = backtest.Confusion(*tables["at_risk"])
                day_rows.append(
                    (
                        fields.Date.to_string(fields.Date.to_date(day)),
                        *confusion,
                        _pct(confusion.precision),
                        _pct(confusion.recall),
                    )
                )
            run.result_html = Markup().join(
                [
                    Markup("<h4>%s</h4>") % self.env._("Per band"),
                    group_table(self.env._("Band"), band_rows),
                    Markup("<h4>%s</h4>") % self.env._("Per tier"),
                    group_table(self.env._("Tier"), tier_rows),
                    Markup("<h4>%s</h4>") % self.env._("Per evaluation day (at risk)"),
                    _table(day_head, day_rows),
                ]
            )


def _pct(value):
    return "-" if value is None else f"{value * 100:.1f} %"


def _table(head, rows):
    return Markup(
        '<table class="table table-sm o_main_table"><thead><tr>%s</tr></thead>'
        "<tbody>%s</tbody></table>"
    ) % (
        Markup().join(Markup("<th>%s</th>") % escape(h) for h in head),
        Markup().join(
            Markup("<tr>%s</tr>")
            % Markup().join(Markup("<td>%s</td>") % escape(c) for c in row)
            for row in rows
        ),
    )


class CustomerHealthBacktestWeight(models.Model):
    """One line of a backtest's draft scorecard (a copy of a
    ``customer.health.dimension`` line)."""

    _name = "customer.health.backtest.weight"
    _description = "Customer Health Backtest Draft Weight"
    _order = "backtest_id, sequence, id"
    _rec_name = "key"

    backtest_id = fields.Many2one(
        "customer.health.backtest", required=True, index=True, ondelete="cascade"
    )
    sequence = fields.Integer(default=10)
    key = fields.Selection(DIMENSION_KEYS, string="Dimension", required=True)
    enabled = fields.Boolean(default=True)
    weight = fields.Float(default=10.0)
    good = fields.Float(string="Full Score At")
    bad = fields.Float(string="Zero Score At")

    def _to_dimension(self):
        self.ensure_one()
        return health.Dimension(
            key=self.key,
            weight=self.weight,
            good=self.good,
            bad=self.bad,
            enabled=self.enabled,
            higher_is_better=health.DIRECTIONS.get(self.key),
        )


class CustomerHealthBacktestDay(models.Model):
    """The evaluations of one backtest day, compact: ``rows`` of
    ``[partner_id, tier_id, band, score, reason keys, raw values]`` with the
    raw values in the order of ``dimension_keys``."""

    _name = "customer.health.backtest.day"
    _description = "Customer Health Backtest Day"
    _order = "backtest_id, day"

    backtest_id = fields.Many2one(
        "customer.health.backtest", required=True, index=True, ondelete="cascade"
    )
    day = fields.Date(required=True)
    dimension_keys = fields.Json()
    rows = fields.Json()

    _sql_constraints = [
        ("backtest_day_uniq", "UNIQUE(backtest_id, day)", "One record per day."),
    ]


class CustomerHealthBacktestLine(models.Model):
    """One churner or flagged customer of a backtest."""

    _name = "customer.health.backtest.line"
    _description = "Customer Health Backtest Customer"
    _order = "backtest_id, churned desc, flagged_on, id"

    backtest_id = fields.Many2one(
        "customer.health.backtest", required=True, index=True, ondelete="cascade"
    )
    company_id = fields.Many2one(related="backtest_id.company_id", store=True)
    partner_id = fields.Many2one("res.partner", string="Customer", ondelete="cascade")
    tier_id = fields.Many2one("customer.tier", ondelete="set null")
    churned = fields.Boolean()
    churn_day = fields.Date(
        string="Last Order Before Churn",
        help="The last order on or before the first evaluation day the customer "
        "was labelled churned.",
    )
    flagged_on = fields.Date(
        string="Flagged At Risk On",
        help="Churners: the first at-risk flag that counts (within the horizon); "
        "others: the first at-risk flag.",
    )
    lead_days = fields.Integer(string="Lead Time (Days)")
    reason_keys = fields.Char()
    reasons = fields.Char(compute="_compute_reasons", string="Reasons Then")

    @api.depends("reason_keys")
    def _compute_reasons(self):
        labels = dict(
            self.env["customer.health.dimension"]
            ._fields["key"]
            ._description_selection(self.env)
        )
        for line in self:
            keys = (line.reason_keys or "").split(",")
            line.reasons = ", ".join(labels.get(k, k) for k in keys if k)
