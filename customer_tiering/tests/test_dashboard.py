# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The Key Accounts spreadsheet dashboard: its data file loads, every pivot,
list, chart and formula refers to existing models, fields and data sources,
each data source runs, and what it reads follows the record rules."""

import json
import re

from dateutil.relativedelta import relativedelta

from odoo.exceptions import AccessError
from odoo.tests import new_test_user, tagged
from odoo.tools import file_open
from odoo.tools.safe_eval import datetime as safe_datetime
from odoo.tools.safe_eval import safe_eval

from .common import TieringCase

DASHBOARD_FILE = "customer_tiering/data/files/key_accounts_dashboard.json"
FORMULA = re.compile(r"(PIVOT\.VALUE|PIVOT\.HEADER|ODOO\.LIST)\(([^()]*)\)")


def _today():
    return safe_datetime.date.today()


def evaluate_domain(domain, uid):
    """A data source's domain as the spreadsheet evaluates it (a list, or
    the text of a domain with context_today and relativedelta)."""
    if isinstance(domain, str):
        return safe_eval(
            domain,
            {"context_today": _today, "relativedelta": relativedelta, "uid": uid},
        )
    return domain


def domain_fields(domain):
    return [leaf[0] for leaf in domain if isinstance(leaf, list | tuple)]


@tagged("post_install", "-at_install")
class TestKeyAccountsDashboard(TieringCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.dashboard = cls.env.ref(
            "customer_tiering.spreadsheet_dashboard_key_accounts"
        )
        cls.data = json.loads(cls.dashboard.spreadsheet_data)

    # ------------------------------------------------------------------
    # Helpers
    # ------------------------------------------------------------------
    def assertPath(self, model, path, msg=""):
        """``path`` (``a.b.c``) is a chain of fields from ``model``."""
        Model = self.env[model]
        names = path.split(".")
        for i, name in enumerate(names):
            self.assertIn(name, Model._fields, f"{msg}: {model} has no field {path}")
            field = Model._fields[name]
            if i < len(names) - 1:
                self.assertTrue(field.relational, f"{msg}: {path}")
                Model = self.env[field.comodel_name]
        return Model._fields[names[-1]]

    def assertGroupable(self, model, spec, msg):
        name = spec.split(":")[0]
        field = self.assertPath(model, name, msg)
        self.assertTrue(field.store, f"{msg}: {spec} not groupable")

    def assertMeasure(self, model, name, msg):
        if name == "__count":
            return
        field = self.assertPath(model, name, msg)
        self.assertTrue(field.store, f"{msg}: measure {name} is not stored")
        self.assertIn(field.type, ("integer", "float", "monetary"), msg)

    def pivot_groups(self, pivot, user):
        """The pivot's data as ``user`` reads it (what the client asks)."""
        Model = self.env[pivot["model"]].with_user(user)
        measures = [
            f"{m['fieldName']}:{m['aggregator']}"
            for m in pivot["measures"]
            if m["fieldName"] != "__count"
        ]
        groupby = [g["fieldName"] for g in pivot["rows"] + pivot["columns"]]
        return Model.read_group(
            evaluate_domain(pivot["domain"], user.id),
            measures,
            groupby,
            lazy=False,
        )

    # ------------------------------------------------------------------
    # The record and its file
    # ------------------------------------------------------------------
    def test_dashboard_record(self):
        self.assertEqual(
            self.dashboard.dashboard_group_id,
            self.env.ref("spreadsheet_dashboard.spreadsheet_dashboard_group_sales"),
        )
        self.assertTrue(self.dashboard.is_published)
        self.assertEqual(
            self.dashboard.group_ids,
            self.env.ref("customer_tiering.group_customer_tiering_user"),
        )
        with file_open(DASHBOARD_FILE) as f:
            self.assertEqual(json.load(f), self.data)
        self.assertTrue(self.data["pivots"] and self.data["lists"])
        # What the Dashboards app calls to open it, for a salesman.
        result = self.dashboard.with_user(self.salesman).get_readonly_dashboard()
        self.assertIn("snapshot", result)
        self.assertEqual(
            result["snapshot"]["pivots"].keys(), self.data["pivots"].keys()
        )

    def test_salesman_sees_the_dashboard(self):
        Dashboard = self.env["spreadsheet.dashboard"]
        self.assertIn(self.dashboard, Dashboard.with_user(self.salesman).search([]))
        internal = new_test_user(
            self.env, login="ct_dash_internal", groups="base.group_user"
        )
        self.assertNotIn(self.dashboard, Dashboard.with_user(internal).search([]))

    # ------------------------------------------------------------------
    # Every reference exists
    # ------------------------------------------------------------------
    def test_pivots_reference_existing_fields(self):
        filters = {f["id"]: f for f in self.data["globalFilters"]}
        for pid, pivot in self.data["pivots"].items():
            msg = f"pivot {pid} ({pivot['name']})"
            self.assertIn(pivot["model"], self.env, msg)
            for measure in pivot["measures"]:
                self.assertMeasure(pivot["model"], measure["fieldName"], msg)
                self.assertEqual(
                    measure["id"], f"{measure['fieldName']}:{measure['aggregator']}"
                )
            for group in pivot["rows"] + pivot["columns"]:
                self.assertGroupable(pivot["model"], group["fieldName"], msg)
            domain = evaluate_domain(pivot["domain"], self.env.uid)
            for name in domain_fields(domain):
                self.assertPath(pivot["model"], name, msg)
            for filter_id, matching in pivot["fieldMatching"].items():
                self.assertIn(filter_id, filters, msg)
                self.assertPath(pivot["model"], matching["chain"], msg)
            # And it runs.
            self.pivot_groups(pivot, self.env.user)

    def test_lists_reference_existing_fields(self):
        for lid, spec in self.data["lists"].items():
            msg = f"list {lid} ({spec['name']})"
            for name in spec["columns"]:
                self.assertPath(spec["model"], name, msg)
            for order in spec["orderBy"]:
                field = self.assertPath(spec["model"], order["name"], msg)
                self.assertTrue(field.store, msg)
            for name in domain_fields(spec["domain"]):
                self.assertPath(spec["model"], name, msg)
            for matching in spec["fieldMatching"].values():
                self.assertPath(spec["model"], matching["chain"], msg)
            self.env[spec["model"]].search_read(
                spec["domain"], spec["columns"], limit=20, order="id"
            )

    def test_charts_reference_existing_fields(self):
        charts = [
            figure["data"]
            for sheet in self.data["sheets"]
            for figure in sheet["figures"]
            if figure["data"]["type"].startswith("odoo_")
        ]
        self.assertTrue(charts)
        for chart in charts:
            model = chart["metaData"]["resModel"]
            msg = f"chart {chart['type']} on {model}"
            self.assertMeasure(model, chart["metaData"]["measure"], msg)
            for group in chart["metaData"]["groupBy"]:
                self.assertGroupable(model, group, msg)
            for name in domain_fields(chart["searchParams"]["domain"]):
                self.assertPath(model, name, msg)
            for matching in chart["fieldMatching"].values():
                self.assertPath(model, matching["chain"], msg)
        for figure_id, menu in self.data["chartOdooMenusReferences"].items():
            self.assertTrue(self.env.ref(menu), figure_id)

    def test_formulas_reference_existing_sources(self):
        """Each PIVOT.VALUE / PIVOT.HEADER names a pivot, one of its measures
        and its group fields; each ODOO.LIST a list and one of its columns;
        every scorecard a cell that has a formula."""
        pivots, lists = self.data["pivots"], self.data["lists"]
        cells = {sheet["name"]: sheet["cells"] for sheet in self.data["sheets"]}
        count = 0
        for sheet, sheet_cells in cells.items():
            for ref, cell in sheet_cells.items():
                for function, args in FORMULA.findall(cell.get("content", "")):
                    count += 1
                    msg = f"{sheet}!{ref}: {cell['content']}"
                    values = [a.strip().strip('"') for a in args.split(",")]
                    if function == "ODOO.LIST":
                        self.assertIn(values[0], lists, msg)
                        self.assertIn(values[2], lists[values[0]]["columns"], msg)
                        continue
                    self.assertIn(values[0], pivots, msg)
                    pivot = pivots[values[0]]
                    groups = {g["fieldName"] for g in pivot["rows"] + pivot["columns"]}
                    rest = values[1:]
                    if function == "PIVOT.VALUE":
                        measures = {m["id"] for m in pivot["measures"]}
                        self.assertIn(rest[0], measures, msg)
                        rest = rest[1:]
                    for name in rest[::2]:
                        self.assertIn(name.lstrip("#"), groups, msg)
        self.assertGreater(count, 100)
        for sheet in self.data["sheets"]:
            for figure in sheet["figures"]:
                if figure["data"]["type"] == "scorecard":
                    sheet_name, ref = figure["data"]["keyValue"].split("!")
                    self.assertTrue(
                        cells[sheet_name][ref]["content"].startswith("="),
                        figure["data"]["title"],
                    )

    # ------------------------------------------------------------------
    # Record rules apply to what the dashboard reads
    # ------------------------------------------------------------------
    def test_salesman_reads_only_his_customers(self):
        other = new_test_user(
            self.env,
            login="ct_dash_other",
            groups="sales_team.group_sale_salesman",
            name="Other Salesman",
        )
        own = self.customer
        own.user_id = self.salesman
        foreign = self.env["res.partner"].create(
            {"name": "Foreign Customer", "is_company": True, "user_id": other.id}
        )
        self.make_order(own, 1_200_000)
        self.make_order(foreign, 7_000_000)
        both = (own | foreign).ids
        Profile = self.env["customer.profile"]
        self.assertEqual(Profile.search_count([("partner_id", "in", both)]), 2)

        by_model = {}
        for pivot in self.data["pivots"].values():
            by_model.setdefault(pivot["model"], pivot)
        # The tier mix, as the salesman reads it: his customer alone.
        mix = dict(self.data["pivots"]["1"], domain=[("partner_id", "in", both)])
        groups = self.pivot_groups(mix, self.salesman)
        self.assertEqual(sum(g["__count"] for g in groups), 1)
        self.assertEqual(sum(g["revenue"] for g in groups), 1_200_000)
        self.assertEqual(
            sum(g["__count"] for g in self.pivot_groups(mix, self.manager)), 2
        )
        # Tier changes (the refresh recorded one first evaluation each).
        moves = dict(self.data["pivots"]["5"], domain=[("partner_id", "in", both)])
        self.assertEqual(
            sum(g["__count"] for g in self.pivot_groups(moves, self.salesman)), 1
        )
        self.assertEqual(
            sum(g["__count"] for g in self.pivot_groups(moves, self.manager)), 2
        )
        # Every pivot's model, grouped by customer: none of the other's.
        for model in by_model:
            rows = (
                self.env[model]
                .with_user(self.salesman)
                .read_group(
                    [("partner_id", "in", both)],
                    [],
                    ["partner_id"],
                    lazy=False,
                )
            )
            self.assertNotIn(foreign.id, [row["partner_id"][0] for row in rows], model)
        # The lists: the top customers as the salesman sees them.
        spec = self.data["lists"]["1"]
        rows = (
            self.env[spec["model"]]
            .with_user(self.salesman)
            .search_read([("partner_id", "in", both)], spec["columns"])
        )
        self.assertEqual([row["partner_id"][0] for row in rows], [own.id])
        self.assertEqual(rows[0]["user_id"][0], self.salesman.id)

    def test_review_figures(self):
        """Retention, repurchase and churn per customer, as the review
        report computes them over the last 12 months and the 12 before."""
        Partner = self.env["res.partner"]
        retained, churned, fresh = (
            Partner.create({"name": f"Review {name}", "is_company": True})
            for name in ("retained", "churned", "new")
        )
        self.make_order(retained, 1000, days_ago=400)
        self.make_order(retained, 2000, days_ago=30)
        self.make_order(retained, 3000, days_ago=10)
        self.make_order(churned, 5000, days_ago=500)
        self.make_order(fresh, 700, days_ago=5)
        Report = self.env["customer.tier.review.report"]
        self.assertFalse(Report.search([("partner_id", "=", fresh.id)]))
        # Computed after the nightly run (the view is materialized), in a
        # cron job of their own that the run's end triggers.
        cron = self.env.ref("customer_tiering.ir_cron_review_figures")
        self.env["customer.profile"]._cron_refresh()
        self.assertTrue(
            self.env["ir.cron.trigger"].search([("cron_id", "=", cron.id)]),
            "the end of the run triggers the figures' cron job",
        )
        self.assertFalse(Report.search([("partner_id", "=", fresh.id)]))
        cron.method_direct_trigger()
        rows = {
            row.partner_id: row
            for row in Report.search(
                [("partner_id", "in", (retained | churned | fresh).ids)]
            )
        }
        self.assertEqual(set(rows), {retained, churned, fresh})
        r, c, f = rows[retained], rows[churned], rows[fresh]
        self.assertEqual((r.order_count, r.order_count_prev), (2, 1))
        self.assertEqual((r.revenue, r.revenue_prev), (5000, 1000))
        self.assertEqual((r.retained_count, r.churned_count), (1, 0))
        self.assertEqual((r.retention_rate, r.repurchase_rate), (100, 100))
        self.assertEqual((c.retained_count, c.churned_count), (0, 1))
        self.assertEqual((c.retention_rate, c.active_count), (0, 0))
        self.assertEqual((f.active_prev_count, f.repurchase_rate), (0, 0))
        # Grouped: averages over the customers each rate applies to.
        [group] = Report.read_group(
            [("id", "in", [r.id, c.id, f.id])],
            ["retention_rate:avg", "repurchase_rate:avg", "churned_count:sum"],
            [],
        )
        self.assertEqual(group["retention_rate"], 50)  # 1 of 2 active before
        self.assertEqual(group["repurchase_rate"], 50)  # 1 of 2 active now
        self.assertEqual(group["churned_count"], 1)

    def test_sample_for_empty_database(self):
        """Before the first evaluation, the Dashboards app shows the sample
        (static figures, no data source), as Sales' dashboards do."""
        sample = self.dashboard._get_sample_dashboard()
        self.assertTrue(sample and sample["sheets"])
        self.assertFalse(sample["pivots"] or sample["lists"])
        contents = [
            cell["content"]
            for sheet in sample["sheets"]
            for cell in sheet["cells"].values()
        ]
        self.assertFalse([c for c in contents if FORMULA.search(c)])
        self.assertFalse(
            [
                f
                for f in sample["sheets"][0]["figures"]
                if f["data"]["type"].startswith("odoo_")
            ]
        )
        self.assertNotIn(
            "is_sample", self.dashboard.with_user(self.manager).get_readonly_dashboard()
        )
        # An empty database: profiles with an audit trail refuse unlink(), so
        # the test empties the table (and its trail, by cascade) in SQL.
        self.env.flush_all()
        self.env.cr.execute("DELETE FROM customer_profile")
        self.env.invalidate_all()
        result = self.dashboard.with_user(self.manager).get_readonly_dashboard()
        self.assertTrue(result.get("is_sample"))


BACKTEST_FILE = "customer_tiering/data/files/health_backtest_dashboard.json"


@tagged("post_install", "-at_install")
class TestHealthBacktestDashboard(TieringCase):
    """The managers' "Health Backtests" dashboard: the latest backtest's
    precision, recall and lead time, out of the salespeople's sight (they
    may not read backtests)."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.dashboard = cls.env.ref(
            "customer_tiering.spreadsheet_dashboard_health_backtest"
        )
        cls.data = json.loads(cls.dashboard.spreadsheet_data)
        cls.Backtest = cls.env["customer.health.backtest"]

    def test_for_managers_only(self):
        manager_group = self.env.ref("customer_tiering.group_customer_tiering_manager")
        self.assertEqual(self.dashboard.group_ids, manager_group)
        self.assertEqual(
            self.dashboard.dashboard_group_id,
            self.env.ref("spreadsheet_dashboard.spreadsheet_dashboard_group_sales"),
        )
        self.assertTrue(self.dashboard.is_published)
        with file_open(BACKTEST_FILE) as f:
            self.assertEqual(json.load(f), self.data)
        Dashboard = self.env["spreadsheet.dashboard"]
        key_accounts = self.env.ref(
            "customer_tiering.spreadsheet_dashboard_key_accounts"
        )
        self.assertTrue(
            self.manager.has_group("customer_tiering.group_customer_tiering_manager")
        )
        self.assertIn(self.dashboard, Dashboard.with_user(self.manager).search([]))
        result = self.dashboard.with_user(self.manager).get_readonly_dashboard()
        self.assertEqual(result["snapshot"]["lists"].keys(), self.data["lists"].keys())
        # A salesperson: Key Accounts as before, not this one.
        salesman_sees = Dashboard.with_user(self.salesman).search([])
        self.assertNotIn(self.dashboard, salesman_sees)
        self.assertIn(key_accounts, salesman_sees)
        with self.assertRaises(AccessError):
            self.dashboard.with_user(self.salesman).read(["name"])
        self.assertFalse(self.dashboard.with_user(self.salesman).spreadsheet_data)
        self.assertIn(
            "snapshot", key_accounts.with_user(self.salesman).get_readonly_dashboard()
        )
        # Key Accounts reads nothing a salesperson may not.
        self.assertNotIn("customer.health.backtest", key_accounts.spreadsheet_data)

    def test_references_exist(self):
        [spec] = self.data["lists"].values()
        self.assertEqual(spec["model"], "customer.health.backtest")
        Model = self.Backtest
        for name in spec["columns"]:
            self.assertIn(name, Model._fields)
        for order in spec["orderBy"]:
            self.assertTrue(Model._fields[order["name"]].store, order["name"])
        for name in domain_fields(spec["domain"]):
            self.assertIn(name, Model._fields)
        cells = {sheet["name"]: sheet["cells"] for sheet in self.data["sheets"]}
        formulas = 0
        for sheet, sheet_cells in cells.items():
            for ref, cell in sheet_cells.items():
                for function, args in FORMULA.findall(cell.get("content", "")):
                    formulas += 1
                    values = [a.strip().strip('"') for a in args.split(",")]
                    msg = f"{sheet}!{ref}"
                    self.assertEqual(function, "ODOO.LIST", msg)
                    self.assertIn(values[0], self.data["lists"], msg)
                    self.assertIn(values[2], spec["columns"], msg)
        self.assertGreater(formulas, 30)
        cards = {}
        for sheet in self.data["sheets"]:
            for figure in sheet["figures"]:
                if figure["data"]["type"] == "scorecard":
                    sheet_name, ref = figure["data"]["keyValue"].split("!")
                    cards[figure["data"]["title"]["text"]] = cells[sheet_name][ref][
                        "content"
                    ]
        self.assertEqual(
            set(cards), {"Precision (At Risk)", "Recall (At Risk)", "Lead Time (Days)"}
        )
        # The first row of the list: the latest backtest.
        for title, field in (
            ("Precision (At Risk)", "precision"),
            ("Recall (At Risk)", "recall"),
            ("Lead Time (Days)", "lead_time_days"),
        ):
            self.assertIn(f'ODOO.LIST(1,1,"{field}")', cards[title], title)
        for menu in self.data["chartOdooMenusReferences"].values():
            self.assertTrue(self.env.ref(menu))

    def test_cards_show_the_latest_live_backtest(self):
        """The list's first row (what the cards read), as a manager reads it:
        the latest finished backtest of the live scorecard, as in Settings."""
        today = self.env.company._customer_tiering_today()
        values = {
            "company_id": self.env.company.id,
            "date_from": today - relativedelta(months=12),
            "date_to": today - relativedelta(months=7),
        }
        live = self.Backtest.create({**values, "name": "Latest live"})
        draft = self.Backtest.create(
            {**values, "name": "Newer draft", "scorecard": "draft"}
        )
        running = self.Backtest.create({**values, "name": "Running live"})
        live.write(
            {"state": "done", "precision": 0.42, "recall": 0.61, "lead_time_days": 75}
        )
        draft.write({"state": "done", "precision": 0.9, "recall": 0.1})
        running.write({"state": "running", "precision": 0.2})
        [spec] = self.data["lists"].values()
        order = ", ".join(
            f"{o['name']} {'asc' if o['asc'] else 'desc'}" for o in spec["orderBy"]
        )
        rows = (
            self.env[spec["model"]]
            .with_user(self.manager)
            .search_read(spec["domain"], spec["columns"], order=order, limit=1)
        )
        self.assertEqual(
            (rows[0]["name"], rows[0]["precision"], rows[0]["recall"]),
            ("Latest live", 0.42, 0.61),
        )
        self.assertEqual(rows[0]["lead_time_days"], 75)
        settings = self.env["res.config.settings"].create({})
        self.assertEqual(settings.customer_health_backtest_id, live)
        # A salesperson may not read what the list reads.
        with self.assertRaises(AccessError):
            self.env[spec["model"]].with_user(self.salesman).search_read(
                spec["domain"], spec["columns"], limit=1
            )
