# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Issue 10, points 6 to 8: no figure silently wrong, upgrades refresh."""

import importlib.util
import logging
from datetime import datetime, time, timedelta
from pathlib import Path

from dateutil.relativedelta import relativedelta

from odoo import Command, fields
from odoo.tests import tagged

from .. import hooks
from ..models import customer_health_dimension
from .common import TieringCase

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


def _migration(version, name):
    path = MIGRATIONS / version / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"ct_migration_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@tagged("post_install", "-at_install")
class TestUpgrade(TieringCase):
    def test_upgrade_requests_a_full_refresh(self):
        companies = self.env["res.company"].search([])
        companies.write({"customer_tiering_run_start": False})
        runs = {company.id: company.customer_tiering_run_id for company in companies}
        _migration("18.0.1.1.0", "post-migrate").migrate(self.env.cr, "18.0.1.0.0")
        companies.invalidate_recordset()
        for company in companies:
            self.assertTrue(company.customer_tiering_run_start)
            self.assertEqual(company.customer_tiering_run_reason, "upgrade")
            self.assertEqual(company.customer_tiering_run_id, runs[company.id] + 1)
        labels = dict(
            companies._fields["customer_tiering_run_reason"]._description_selection(
                self.env
            )
        )
        self.assertEqual(labels["upgrade"], "Upgrade")


@tagged("post_install", "-at_install")
class TestUninstallCleanup(TieringCase):
    def test_uninstall_removes_the_addons_activities(self):
        """What the uninstall hook removes before Odoo deletes the addon's
        data (tests/tools/uninstall.py checks the whole uninstall)."""
        review = self.env.ref("customer_tiering.mail_activity_type_business_review")
        call = self.env.ref("mail.mail_activity_data_call")
        other = self.env["res.partner"].create({"name": "Not a customer"})
        self.make_order(self.customer, 1000)
        profile = self.profile()
        Activity = self.env["mail.activity"]
        values = {
            "res_model_id": self.env["ir.model"]._get_id("res.partner"),
            "user_id": self.salesman.id,
        }
        planned = Activity.create(
            {**values, "res_id": self.customer.id, "activity_type_id": call.id}
        )
        planned.customer_profile_id = profile
        own_type = Activity.create(
            {**values, "res_id": other.id, "activity_type_id": review.id}
        )
        done = Activity.create(
            {**values, "res_id": other.id, "activity_type_id": review.id}
        )
        done.active = False
        unrelated = Activity.create(
            {**values, "res_id": other.id, "activity_type_id": call.id}
        )
        odoo_plan = self.env["mail.activity.plan"].create(
            {
                "name": "Odoo plan",
                "res_model": "res.partner",
                "template_ids": [
                    Command.create(
                        {
                            "summary": "Visit",
                            "activity_type_id": review.id,
                            "responsible_type": "on_demand",
                        }
                    )
                ],
            }
        )
        hooks._remove_followups(self.env)
        self.assertFalse((planned | own_type | done).exists())
        self.assertTrue(unrelated.exists())
        self.assertEqual(
            odoo_plan.template_ids.activity_type_id,
            self.env.ref("mail.mail_activity_data_todo"),
        )


@tagged("post_install", "-at_install")
class TestFigures(TieringCase):
    def pricelist(self, code, rate_day=None):
        """A pricelist in a new active currency, with a rate from
        ``rate_day`` on (none when not given)."""
        currency = self.env["res.currency"].create(
            {"name": code, "symbol": code, "rounding": 1.0, "active": True}
        )
        if rate_day:
            self.env["res.currency.rate"].create(
                {
                    "currency_id": currency.id,
                    "rate": 100.0,  # 1 company unit = 100 of the currency
                    "name": rate_day,
                    "company_id": self.company.id,
                }
            )
        return self.env["product.pricelist"].create(
            {"name": f"{code} prices", "currency_id": currency.id}
        )

    def test_order_in_a_currency_without_rate_is_left_out(self):
        """1,000,000 TJY without a rate would count as 1,000,000 in company
        currency (Odoo converts at 1.0): the order is left out and counted."""
        self.make_order(self.customer, 600_000)
        order = self.make_order(
            self.customer, 1_000_000, pricelist_id=self.pricelist("TJY").id
        )
        self.assertEqual(order.currency_rate, 1.0)  # what Odoo stores
        profile = self.profile()
        self.assertEqual(profile.revenue, 600_000)
        self.assertEqual(profile.lifetime_revenue, 600_000)
        self.assertEqual(profile.order_count, 1)
        self.assertEqual(profile.excluded_order_count, 1)
        self.assertEqual(self.tier_of(), self.tier_b)  # not A (1.6M)
        self.customer.invalidate_recordset()
        self.assertEqual(self.customer.customer_excluded_order_count, 1)
        settings = self.env["res.config.settings"].create({})
        self.assertGreaterEqual(settings.customer_tiering_excluded_orders, 1)
        self.assertGreaterEqual(settings.customer_tiering_excluded_customers, 1)
        # A rate dated after the order does not convert it either.
        self.env["res.currency.rate"].create(
            {
                "currency_id": order.currency_id.id,
                "rate": 100.0,
                "name": fields.Date.today() + timedelta(days=5),
                "company_id": self.company.id,
            }
        )
        self.refresh()
        self.assertEqual(profile.excluded_order_count, 1)
        # With a rate on or before its date, the order counts at its rate.
        converted = self.make_order(
            self.customer,
            1_000_000,
            pricelist_id=self.pricelist("TJZ", rate_day="2000-01-01").id,
        )
        self.assertEqual(converted.currency_rate, 100.0)
        self.assertEqual(profile.revenue, 610_000)
        self.assertEqual(profile.order_count, 2)
        self.assertEqual(profile.excluded_order_count, 1)

    def test_what_counts_as_an_order(self):
        """Confirmed, with a product line and a positive untaxed amount; a
        negative order reduces the revenue but is no order."""
        self.make_order(self.customer, 800_000)
        self.make_order(self.customer, -100_000)  # refund-like
        empty = self.env["sale.order"].create({"partner_id": self.customer.id})
        empty.action_confirm()
        self.assertEqual(empty.state, "sale")
        self.refresh()
        profile = self.profile()
        self.assertEqual(profile.revenue, 700_000)
        self.assertEqual(profile.order_count, 1)
        self.assertEqual(profile.lifetime_revenue, 700_000)

    def test_same_figures_whatever_the_users_time_zone(self):
        """Orders near the windows' day boundaries: one near the start of the
        revenue window, one near its end.  The figures follow the company's
        time zone, not the one of whoever triggers the evaluation."""
        self.company.customer_tiering_tz = "UTC"
        today = self.company._customer_tiering_today()
        start = today - relativedelta(months=12)
        orders = [
            (100, datetime.combine(start - timedelta(days=1), time(20))),
            (200, datetime.combine(start, time(5))),
            (400, datetime.combine(today, time(20))),
        ]
        for amount, moment in orders:
            self.make_order(self.customer, amount).date_order = moment
        figures = {}
        for tz in ("Pacific/Auckland", "UTC"):
            self.manager.tz = tz
            Profile = (
                self.env["customer.profile"].with_user(self.manager).with_context(tz=tz)
            )
            Profile._refresh_partners(self.customer)
            profile = self.profile()
            profile.invalidate_recordset()
            figures[tz] = (
                profile.revenue,
                profile.revenue_prev,
                profile.order_count,
                profile.last_order_date,
                profile.evaluated_on,
            )
        self.assertEqual(figures["UTC"], (600, 100, 1, today, today))
        self.assertEqual(figures["Pacific/Auckland"], figures["UTC"])
        # The company's time zone defaults to its address's.
        address = self.env["res.partner"].create(
            {"name": "Tiering Test Co", "is_company": True, "tz": "Asia/Shanghai"}
        )
        other = self.env["res.company"].create(
            {"name": "Tiering Test Co", "partner_id": address.id}
        )
        self.assertEqual(other.customer_tiering_tz, "Asia/Shanghai")

    def test_archived_customer_gets_no_followups(self):
        self.customer.user_id = self.salesman
        self.make_order(self.customer, 5_000_000)
        profile = self.profile()
        self.assertTrue(profile.plan_id)
        profile._schedule_followups()
        followups = self.env["mail.activity"].search(
            [("customer_profile_id", "=", profile.id)]
        )
        self.assertTrue(followups)
        touches = self.env["customer.touch"].search_count([])
        self.customer.action_archive()
        self.assertFalse(followups.exists())
        # Withdrawn, not missed.
        self.assertEqual(self.env["customer.touch"].search_count([]), touches)
        stats = profile._schedule_followups()
        self.assertEqual(stats["activities"], 0)
        profile._engine().followups_checked_on = False
        self.env["customer.profile"]._cron_schedule_followups()
        activities = self.env["mail.activity"].search(
            [("res_model", "=", "res.partner"), ("res_id", "=", self.customer.id)]
        )
        self.assertFalse(activities)
        # Back from the archive, the customer's plan goes on.
        self.customer.action_unarchive()
        self.assertGreater(profile._schedule_followups()["activities"], 0)

    def test_archived_customer_gets_no_health_warning(self):
        self.customer.user_id = self.salesman
        self.make_order(self.customer, 100_000)
        risk = self.env.ref("customer_tiering.mail_activity_type_health_risk")
        later = self.company._customer_tiering_today() + timedelta(days=400)
        self.customer.action_archive()
        self.refresh(today=later)
        profile = self.profile()
        self.assertEqual(profile.health_band, "at_risk")
        domain = [
            ("res_model", "=", "res.partner"),
            ("res_id", "=", self.customer.id),
            ("activity_type_id", "=", risk.id),
        ]
        self.assertFalse(self.env["mail.activity"].search(domain))
        self.assertFalse(profile.health_warned_on)

    def test_invoice_in_a_currency_without_rate_is_left_out(self):
        self.company.customer_tiering_basis = "invoice"
        currency = self.pricelist("TJW").currency_id
        moves = self.env["account.move"].create(
            [
                {
                    "move_type": "out_invoice",
                    "partner_id": self.contact.id,
                    "invoice_date": self.company._customer_tiering_today(),
                    "currency_id": currency_id,
                    "invoice_line_ids": [
                        Command.create(
                            {"name": "Service", "price_unit": amount, "tax_ids": False}
                        )
                    ],
                }
                for currency_id, amount in (
                    (self.company.currency_id.id, 600_000),
                    (currency.id, 1_000_000),
                )
            ]
        )
        moves.action_post()
        self.refresh()
        profile = self.profile()
        self.assertEqual(profile.revenue, 600_000)
        self.assertEqual(profile.order_count, 1)
        self.assertEqual(profile.excluded_order_count, 1)


@tagged("post_install", "-at_install")
class TestUpgradeScorecard(TieringCase):
    def test_upgrade_adds_a_registered_dimension_switched_off(self):
        """An existing scorecard lacking a registered dimension gets it on
        upgrade, off with weight 0, logged; a second run adds nothing."""
        Dimension = self.env["customer.health.dimension"]
        Dimension._ensure_scorecards(self.company)
        lines = Dimension.search([("company_id", "=", self.company.id)])
        recency = lines.filtered(lambda line: line.key == "recency")
        weights = {line.key: line.weight for line in lines - recency}
        # As a scorecard of the version before "recency" was registered: the
        # line goes in SQL (the ORM refuses to delete scorecard lines).
        self.env.cr.execute(
            "DELETE FROM customer_health_dimension WHERE id = %s", recency.ids
        )
        Dimension.invalidate_model()
        self.env.registry.clear_cache()
        bare = self.env["res.company"].create({"name": "No Scorecard Yet"})
        self.env.cr.execute(
            "DELETE FROM customer_health_dimension WHERE company_id = %s", bare.ids
        )
        # logging.INFO, not "INFO": Odoo names its level 25 "INFO" too.
        with self.assertLogs(customer_health_dimension._logger, logging.INFO) as logs:
            _migration("18.0.1.2.0", "post-migrate").migrate(self.env.cr, "18.0.1.1.0")
        added = Dimension.search(
            [("company_id", "=", self.company.id), ("key", "=", "recency")]
        )
        self.assertEqual((added.enabled, added.weight), (False, 0.0))
        self.assertEqual((added.good, added.bad), (30, 180), "shipped thresholds")
        self.assertIn("'recency' added to the scorecard of", logs.output[0])
        self.assertEqual(len(logs.output), 1, "a company without scorecard: none")
        self.assertFalse(Dimension.search([("company_id", "=", bare.id)]))
        others = Dimension.search([("company_id", "=", self.company.id)]) - added
        self.assertEqual({line.key: line.weight for line in others}, weights)
        # Idempotent: nothing to add the second time.
        _migration("18.0.1.2.0", "post-migrate").migrate(self.env.cr, "18.0.1.1.0")
        self.assertEqual(
            Dimension.search_count([("company_id", "=", self.company.id)]),
            len(lines),
        )
        # The company still scores its customers (the new line is off).
        self.make_order(self.customer, 100_000)
        self.assertTrue(self.profile().health_band)
