# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo.exceptions import AccessError
from odoo.tests import new_test_user, tagged

from .common import TieringCase

REPORT = "customer_tiering.action_report_account_review"
PROFILE_REPORT = "customer_tiering.action_report_account_review_profile"


@tagged("post_install", "-at_install")
class TestAccountReviewReport(TieringCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.customer.user_id = cls.salesman
        cls.contact.function = "Head of Purchasing"
        cls.make_order(cls.customer, 1_200_000, days_ago=40)
        cls.make_order(cls.customer, 300_000, days_ago=400)
        cls.env["customer.account.review"].create(
            {
                "partner_id": cls.customer.id,
                "satisfaction": "4",
                "notes": "<p>Wants a second production line</p>",
            }
        )
        cls.empty = cls.env["res.partner"].create(
            {"name": "Customer Without Sales", "is_company": True}
        )
        cls.other_salesman = new_test_user(
            cls.env,
            login="ct_report_other",
            groups="sales_team.group_sale_salesman",
            name="Other Report Salesman",
        )
        cls.others_customer = cls.env["res.partner"].create(
            {
                "name": "Another Salesman's Customer",
                "is_company": True,
                "user_id": cls.other_salesman.id,
            }
        )

    def assertInPage(self, text, html, msg=None):
        self.assertTrue(text in html, msg or f"{text!r} not in the page")

    def assertNotInPage(self, text, html):
        self.assertFalse(text in html, f"{text!r} in the page")

    def render_html(self, partners, report=REPORT, user=None):
        Report = self.env["ir.actions.report"]
        if user:
            Report = Report.with_user(user)
        html, kind = Report._render_qweb_html(report, partners.ids)
        self.assertEqual(kind, "html")
        return html.decode()

    def test_renders_html_for_customers_with_and_without_data(self):
        html = self.render_html(self.customer | self.empty)
        self.assertInPage("Tiering Test Customer Ltd</span>", html)
        self.assertInPage("Customer Without Sales</span>", html)
        self.assertInPage("Buyer of the test customer", html)
        self.assertInPage("Head of Purchasing", html)
        self.assertInPage("Wants a second production line", html)
        self.assertInPage("1,200,000", html, "the month's revenue")
        self.assertInPage("1,500,000.00", html, "the 24 months' total")
        self.assertInPage("<span>Key</span>", html, "the tier's thresholds")
        self.assertInPage("<span>Strategic</span>", html, "the tier above")
        self.assertInPage("Not evaluated yet", html)
        self.assertInPage("No account review yet.", html)

    def test_renders_pdf(self):
        # One customer per job: the wkhtmltopdf of these machines (unpatched
        # qt) fails on any multi-document job, Odoo's own reports included.
        Report = self.env["ir.actions.report"].with_context(force_report_rendering=True)
        for customer in self.customer | self.empty:
            pdf, kind = Report._render_qweb_pdf(REPORT, customer.ids)
            self.assertEqual(kind, "pdf")
            self.assertTrue(pdf.startswith(b"%PDF"))

    def test_prints_from_key_accounts(self):
        html = self.render_html(self.profile(), report=PROFILE_REPORT)
        self.assertInPage("Tiering Test Customer Ltd</span>", html)
        action = self.env.ref(PROFILE_REPORT)
        self.assertEqual(action.binding_model_id.model, "customer.profile")
        self.assertEqual(self.env.ref(REPORT).binding_model_id.model, "res.partner")

    def test_override_reason_for_internal_readers_only(self):
        self.env["customer.tier.override.wizard"].create(
            {
                "partner_id": self.customer.id,
                "tier_id": self.tier_s.id,
                "reason": "Flagship reference in the region",
            }
        ).action_apply()
        self.assertInPage(
            "Flagship reference in the region", self.render_html(self.customer)
        )
        html, __ = (
            self.env["ir.actions.report"]
            .with_context(customer_account_review_external=True)
            ._render_qweb_html(REPORT, self.customer.ids)
        )
        self.assertNotInPage("Flagship reference in the region", html.decode())

    def test_prints_in_the_customers_language(self):
        self.env["res.lang"]._activate_lang("zh_CN")
        self.env["ir.module.module"]._load_module_terms(
            ["customer_tiering"], ["zh_CN"], overwrite=True
        )
        self.customer.lang = "zh_CN"
        html = self.render_html(self.customer | self.empty)
        self.assertInPage("级别及分级依据", html, "the customer's language")
        self.assertInPage("Tier and Why", html, "the other customer's (English)")

    def test_no_query_per_customer(self):
        customers = self.env["res.partner"].create(
            [{"name": f"Batch Customer {i}", "is_company": True} for i in range(10)]
        )
        for i, customer in enumerate(customers):
            self.make_order(customer, 100_000 * (i + 1), days_ago=i * 30)
            self.env["res.partner"].create(
                {"name": f"Contact {i}", "parent_id": customer.id}
            )
        self.render_html(customers)  # compiled templates, caches
        counts = []
        for batch in (customers[:5], customers):
            self.env.invalidate_all()
            before = self.env.cr.sql_log_count
            self.render_html(batch)
            counts.append(self.env.cr.sql_log_count - before)
        self.assertLessEqual(counts[1], counts[0] + 2, counts)

    def test_record_rules_apply(self):
        self.render_html(self.customer, user=self.salesman)
        with self.assertRaises(AccessError):
            self.render_html(self.others_customer, user=self.salesman)
        with self.assertRaises(AccessError):
            self.render_html(self.customer | self.others_customer, user=self.salesman)
        self.render_html(self.others_customer, user=self.manager)
