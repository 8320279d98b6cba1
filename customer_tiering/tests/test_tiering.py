# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from datetime import timedelta
from unittest.mock import patch

from odoo import Command, fields
from odoo.exceptions import AccessError, UserError
from odoo.tests import tagged

from .common import TieringCase


@tagged("post_install", "-at_install")
class TestTiering(TieringCase):
    def test_confirm_upgrades_at_once(self):
        self.make_order(self.customer, 100_000)
        self.assertEqual(self.tier_of(), self.tier_c)
        self.make_order(self.customer, 5_000_000)
        self.assertEqual(self.tier_of(), self.tier_s)
        profile = self.profile()
        self.assertEqual(profile.revenue, 5_100_000)
        self.assertEqual(profile.order_count, 2)
        self.assertEqual(profile.last_order_date, fields.Date.context_today(profile))
        causes = profile.history_ids.sorted("id").mapped("cause")
        self.assertEqual(causes, ["initial", "computed_up"])
        self.assertEqual(profile.history_ids.sorted("id")[-1].to_tier_id, self.tier_s)

    def test_cancel_pends_then_downgrades_after_grace(self):
        self.make_order(self.customer, 600_000)
        big = self.make_order(self.customer, 5_000_000)
        self.assertEqual(self.tier_of(), self.tier_s)
        big._action_cancel()
        profile = self.profile()
        today = fields.Date.context_today(profile)
        self.assertEqual(self.tier_of(), self.tier_s, "no downgrade before the grace")
        self.assertEqual(profile.computed_tier_id, self.tier_b)
        self.assertEqual(profile.pending_downgrade_since, today)
        self.assertEqual(self.customer.customer_tier_pending_since, today)
        self.refresh(today=today + timedelta(days=29))
        self.assertEqual(self.tier_of(), self.tier_s)
        self.assertEqual(profile.pending_downgrade_since, today)
        self.refresh(today=today + timedelta(days=30))
        self.assertEqual(self.tier_of(), self.tier_b)
        self.assertFalse(profile.pending_downgrade_since)
        last = profile.history_ids.sorted("id")[-1]
        self.assertEqual(
            (last.from_tier_id, last.to_tier_id, last.cause),
            (self.tier_s, self.tier_b, "computed_down"),
        )

    def test_recovery_clears_pending_downgrade(self):
        self.make_order(self.customer, 1_000_000)
        order = self.make_order(self.customer, 100_000)
        order._action_cancel()
        self.make_order(self.customer, 100_000).write({"state": "cancel"})
        self.assertEqual(self.tier_of(), self.tier_a)
        self.assertFalse(self.profile().pending_downgrade_since)

    def test_contact_order_counts_for_company(self):
        self.make_order(self.contact, 1_200_000)
        self.assertEqual(self.tier_of(), self.tier_a)
        self.assertFalse(self.profile(self.contact), "contacts carry no profile")
        self.assertEqual(self.contact.customer_revenue, 1_200_000)

    def test_old_orders_leave_the_window(self):
        self.make_order(self.customer, 2_000_000, days_ago=400)
        self.make_order(self.customer, 10_000, days_ago=10)
        self.refresh()
        profile = self.profile()
        self.assertEqual(profile.revenue, 10_000)
        self.assertEqual(profile.revenue_prev, 2_000_000)
        self.assertAlmostEqual(profile.growth, -99.5)
        self.assertEqual(profile.lifetime_revenue, 2_010_000)

    def test_foreign_currency_converted_at_order_rate(self):
        currency = self.env["res.currency"].create(
            {"name": "TTC", "symbol": "T", "rounding": 0.01}
        )
        self.env["res.currency.rate"].create(
            {
                "currency_id": currency.id,
                "rate": 0.5,  # 1 company unit = 0.5 TTC
                "name": "2000-01-01",
                "company_id": self.company.id,
            }
        )
        pricelist = self.env["product.pricelist"].create(
            {"name": "TTC prices", "currency_id": currency.id}
        )
        order = self.make_order(self.customer, 3_000_000, pricelist_id=pricelist.id)
        self.assertEqual(order.currency_id, currency)
        self.assertEqual(self.profile().revenue, 6_000_000)
        self.assertEqual(self.tier_of(), self.tier_s)

    def test_invoice_basis_nets_credit_notes(self):
        self.company.customer_tiering_basis = "invoice"
        self.make_order(self.customer, 3_000_000)  # orders do not count now
        moves = self.env["account.move"].create(
            [
                {
                    "move_type": move_type,
                    "partner_id": self.contact.id,
                    "invoice_date": fields.Date.context_today(self.customer),
                    "invoice_line_ids": [
                        Command.create(
                            {
                                "name": "Service",
                                "quantity": 1,
                                "price_unit": amount,
                                "tax_ids": False,
                            }
                        )
                    ],
                }
                for move_type, amount in (
                    ("out_invoice", 2_000_000),
                    ("out_refund", 1_200_000),
                )
            ]
        )
        moves.action_post()
        profile = self.profile()
        self.assertEqual(profile.revenue, 800_000)
        self.assertEqual(profile.order_count, 1, "credit notes are not orders")
        self.assertEqual(self.tier_of(), self.tier_b)

    def test_two_companies_two_ladders(self):
        other = self.env["res.company"].create({"name": "Tiering Second Company"})
        gold, silver = self.env["customer.tier"].create(
            [
                {
                    "name": "Gold",
                    "code": "G",
                    "rank": 2,
                    "company_id": other.id,
                    "use_min_revenue": True,
                    "min_revenue": 100_000,
                },
                {"name": "Silver", "code": "SI", "rank": 1, "company_id": other.id},
            ]
        )
        self.env.user.company_ids |= other
        self.make_order(self.customer, 200_000, company_id=other.id)
        self.make_order(self.customer, 1_500_000)
        self.assertEqual(self.tier_of(company=other), gold)
        self.assertEqual(self.tier_of(company=self.company), self.tier_a)
        self.assertEqual(self.profile(company=other).revenue, 200_000)
        self.assertEqual(self.profile(company=self.company).revenue, 1_500_000)
        self.assertEqual(self.env["customer.tier"]._get_ladder(other), gold | silver)
        self.assertEqual(self.customer.with_company(other).customer_tier_id, gold)

    def test_strategic_required(self):
        self.tier_s.write({"require_strategic": True})
        self.make_order(self.customer, 6_000_000)
        self.assertEqual(self.tier_of(), self.tier_a)
        self.customer.customer_strategic = True
        self.assertEqual(self.tier_of(), self.tier_s, "re-evaluated on the flag")

    def test_override_then_expiry(self):
        self.make_order(self.customer, 100_000)
        wizard = (
            self.env["customer.tier.override.wizard"]
            .with_user(self.manager)
            .create(
                {
                    "partner_id": self.customer.id,
                    "tier_id": self.tier_a.id,
                    "reason": "Reference customer",
                    "until": fields.Date.context_today(self.customer)
                    + timedelta(days=10),
                }
            )
        )
        wizard.action_apply()
        profile = self.profile()
        self.assertEqual(self.tier_of(), self.tier_a)
        self.assertTrue(profile.override_active)
        self.assertEqual(profile.computed_tier_id, self.tier_c)
        entry = profile.history_ids.sorted("id")[-1]
        self.assertEqual(entry.cause, "override_set")
        self.assertEqual(entry.reason, "Reference customer")
        self.assertEqual(entry.user_id, self.manager)
        # Still overridden on its last day, computed tier the day after.
        today = fields.Date.context_today(profile)
        self.refresh(today=today + timedelta(days=10))
        self.assertEqual(self.tier_of(), self.tier_a)
        self.refresh(today=today + timedelta(days=11))
        self.assertEqual(self.tier_of(), self.tier_c)
        self.assertFalse(profile.override_active)
        self.assertFalse(profile.override_tier_id)
        self.assertEqual(profile.history_ids.sorted("id")[-1].cause, "override_ended")

    def test_override_needs_reason_and_manager(self):
        self.make_order(self.customer, 100_000)
        with self.assertRaises(AccessError):
            self.env["customer.tier.override.wizard"].with_user(self.salesman).create(
                {
                    "partner_id": self.customer.id,
                    "tier_id": self.tier_s.id,
                    "reason": "I want it",
                }
            )
        with self.assertRaises(UserError):
            self.customer.with_user(self.salesman).action_customer_tier_override()
        wizard = self.env["customer.tier.override.wizard"].create(
            {"partner_id": self.customer.id, "tier_id": self.tier_s.id, "reason": " "}
        )
        with self.assertRaises(UserError):
            wizard.action_apply()
        self.assertEqual(self.tier_of(), self.tier_c)

    def test_end_override_applies_computed_tier_at_once(self):
        self.make_order(self.customer, 100_000)
        self.env["customer.tier.override.wizard"].create(
            {"partner_id": self.customer.id, "tier_id": self.tier_s.id, "reason": "VIP"}
        ).action_apply()
        self.assertEqual(self.tier_of(), self.tier_s)
        self.customer.with_user(self.manager).action_customer_tier_clear_override()
        self.assertEqual(self.tier_of(), self.tier_c, "no grace after an override")
        self.assertEqual(
            self.profile().history_ids.sorted("id")[-1].cause, "override_ended"
        )

    def test_history_and_chatter(self):
        self.make_order(self.customer, 1_000_000)
        messages = self.customer.message_ids.filtered(
            lambda m: "customer tier" in (m.body or "")
        )
        self.assertEqual(len(messages), 1)
        self.assertIn(self.tier_a.name, messages.body)
        self.assertIn(self.company.name, messages.body)
        self.assertEqual(self.customer.customer_tier_history_count, 1)
        action = self.customer.action_view_customer_tier_history()
        history = self.env["customer.tier.history"].search(action["domain"])
        self.assertEqual(history.to_tier_id, self.tier_a)
        self.assertEqual(history.revenue, 1_000_000)
        # A refresh that changes nothing writes no history and no message.
        self.refresh()
        self.assertEqual(self.customer.customer_tier_history_count, 1)

    def test_salesman_confirms_without_tiering_rights_on_partners(self):
        order = self.make_order(
            self.customer, 1_000_000, confirm=False, user_id=self.salesman.id
        )
        order.with_user(self.salesman).sudo(False).action_confirm()
        self.assertEqual(self.tier_of(), self.tier_a)
        with self.assertRaises(AccessError):
            self.profile().with_user(self.salesman).write({"tier_id": self.tier_s.id})

    def test_broken_ladder_never_blocks_a_sale(self):
        self.tier_c.write({"use_min_revenue": True, "min_revenue": 1})
        with self.assertLogs("odoo.addons.customer_tiering", "ERROR") as logs:
            order = self.make_order(self.customer, 100)
        self.assertEqual(order.state, "sale")
        self.assertIn("no catch-all tier", "\n".join(logs.output))
        with self.assertRaises(UserError):
            self.env["res.config.settings"].create({}).action_customer_tiering_refresh()

    def test_missing_rate_logged_not_counted(self):
        order = self.make_order(self.customer, 700_000)
        self.env.cr.execute(
            "UPDATE sale_order SET currency_rate = 0 WHERE id = %s", [order.id]
        )
        order.invalidate_recordset(["currency_rate"])
        with self.assertLogs("odoo.addons.customer_tiering", "WARNING") as logs:
            self.refresh()
        self.assertIn("without a currency rate", "\n".join(logs.output))
        self.assertEqual(self.profile().revenue, 0)


@tagged("post_install", "-at_install")
class TestFullRefresh(TieringCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.customers = cls.env["res.partner"].create(
            [{"name": f"Batch Customer {i}", "is_company": True} for i in range(5)]
        )
        for i, customer in enumerate(cls.customers):
            cls.make_order(customer, 600_000 * (i + 1), confirm=False).with_context(
                customer_tiering_skip=True
            ).action_confirm()

    def test_install_request_then_cron_tiers_everyone(self):
        self.assertFalse(self.profile(self.customers[0]), "hook skipped")
        Profile = self.env["customer.profile"]
        Profile._request_full_refresh(reason="install")
        self.assertTrue(self.company.customer_tiering_run_start)
        Profile._cron_refresh()
        self.assertFalse(self.company.customer_tiering_run_start, "run finished")
        tiers = [self.tier_of(c) for c in self.customers]
        self.assertEqual(
            tiers, [self.tier_b, self.tier_a, self.tier_a, self.tier_a, self.tier_a]
        )

    def test_run_creates_the_profiles_of_customers_with_sales_only(self):
        """At the start of a run, a profile for each commercial partner with a
        confirmed order in the company (placed by it or by a contact of it),
        whether or not it has one in another company; none for a draft
        order, a contact or a partner without sales; existing ones kept."""
        Partner = self.env["res.partner"]
        by_contact, drafted, elsewhere, idle = Partner.create(
            [
                {"name": f"Profiles {name}", "is_company": True}
                for name in ("by contact", "draft", "elsewhere", "idle")
            ]
        )
        buyer = Partner.create({"name": "Profiles buyer", "parent_id": by_contact.id})
        self.make_order(buyer, 1000, confirm=False).with_context(
            customer_tiering_skip=True
        ).action_confirm()
        self.make_order(drafted, 1000, confirm=False)
        self.make_order(elsewhere, 1000, confirm=False).with_context(
            customer_tiering_skip=True
        ).action_confirm()
        other = self.env["res.company"].create({"name": "Profiles Other Co"})
        Profile = self.env["customer.profile"]
        Profile.create({"partner_id": elsewhere.id, "company_id": other.id})
        kept = Profile.create(
            {"partner_id": self.customers[0].id, "company_id": self.company.id}
        )

        created = Profile._create_missing_profiles(self.company)

        with_profile = Profile.search([("company_id", "=", self.company.id)]).partner_id
        self.assertEqual(created, 1 + len(self.customers))  # by_contact too
        self.assertLessEqual(by_contact | elsewhere | self.customers, with_profile)
        self.assertFalse((drafted | idle | buyer) & with_profile)
        self.assertEqual(self.profile(self.customers[0]), kept)
        self.assertEqual(Profile._create_missing_profiles(self.company), 0)

    def test_run_creates_profiles_from_invoices_on_the_invoice_basis(self):
        self.company.customer_tiering_basis = "invoice"
        Partner = self.env["res.partner"]
        invoiced, drafted = Partner.create(
            [{"name": f"Invoiced {n}", "is_company": True} for n in ("posted", "draft")]
        )
        journal = self.env["account.journal"].search(
            [("type", "=", "sale"), ("company_id", "=", self.company.id)], limit=1
        )
        moves = self.env["account.move"].create(
            [
                {
                    "move_type": "out_invoice",
                    "partner_id": partner.id,
                    "journal_id": journal.id,
                    "invoice_line_ids": [
                        Command.create(
                            {"product_id": self.product.id, "price_unit": 100}
                        )
                    ],
                }
                for partner in (invoiced, drafted)
            ]
        )
        moves[0].with_context(customer_tiering_skip=True).action_post()
        Profile = self.env["customer.profile"]
        Profile.search([("partner_id", "=", invoiced.id)]).unlink()
        Profile._create_missing_profiles(self.company)
        self.assertTrue(self.profile(invoiced))
        self.assertFalse(self.profile(drafted))
        self.assertFalse(self.profile(self.customers[0]), "orders do not count")

    def test_batches_resume_without_redoing(self):
        Profile = self.env["customer.profile"]
        Profile._request_full_refresh(reason="manual")
        seen = []
        original = type(Profile)._refresh

        def spy(records, *args, **kwargs):
            seen.append(set(records.ids))
            return original(records, *args, **kwargs)

        with patch.object(type(Profile), "_refresh", spy):
            # First call stops after one batch, as a killed run would after
            # its first commit.
            Profile._cron_refresh(batch_size=2, max_batches=1)
            self.assertEqual(len(seen), 1)
            self.assertTrue(self.company.customer_tiering_run_start, "run under way")
            Profile._cron_refresh(batch_size=2)
        self.assertGreater(len(seen), 2)
        done = [pid for batch in seen for pid in batch]
        self.assertEqual(len(done), len(set(done)), "no profile evaluated twice")
        total = Profile.search_count([("company_id", "=", self.company.id)])
        self.assertEqual(len(done), total, "every profile evaluated")
        self.assertFalse(self.company.customer_tiering_run_start)
        self.assertTrue(all(self.tier_of(c) for c in self.customers))

    def test_config_change_requests_refresh_and_labels_history(self):
        Profile = self.env["customer.profile"]
        Profile._request_full_refresh()
        Profile._cron_refresh()
        self.assertEqual(self.tier_of(self.customers[0]), self.tier_b)
        self.tier_b.min_revenue = 700_000
        self.assertEqual(self.company.customer_tiering_run_reason, "config")
        self.assertTrue(self.company.customer_tiering_run_start)
        Profile._cron_refresh()
        # Downgrades keep their grace period, even after a threshold change.
        self.assertEqual(self.profile(self.customers[0]).computed_tier_id, self.tier_c)
        self.tier_a.min_revenue = 1_300_000
        self.tier_b.min_revenue = 500_000
        self.company.customer_tiering_grace_days = 0
        Profile._cron_refresh()
        entry = self.profile(self.customers[1]).history_ids.sorted("id")[-1]
        self.assertEqual((entry.to_tier_id, entry.cause), (self.tier_b, "config"))

    def test_settings_change_requests_refresh(self):
        self.company.customer_tiering_run_start = False
        settings = self.env["res.config.settings"].create({})
        settings.customer_tiering_grace_days = 10
        settings.execute()
        self.assertEqual(self.company.customer_tiering_grace_days, 10)
        self.assertEqual(self.company.customer_tiering_run_reason, "config")
        self.assertTrue(self.company.customer_tiering_run_start)
