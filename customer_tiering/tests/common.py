# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import os
from datetime import datetime, time, timedelta
from unittest.mock import patch

import pytz

from odoo import Command, fields
from odoo.tests import new_test_user

from odoo.addons.base.tests.common import BaseCommon


class TieringCase(BaseCommon):
    """Customers, a product and users for the tiering tests.

    The ladder is the shipped default (S >= 5M, A >= 1M, B >= 500k, C), in
    the company currency, over 12 months, grace period 30 days.
    """

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # Every user of the tests works in the company's tiering time zone
        # ("today" is the day the evaluations compute for, for all of them,
        # whatever the hour the tests run at; users made with new_test_user
        # take it from the context).
        tz = cls.env.company._customer_tiering_tz_name()
        cls.env = cls.env(context=dict(cls.env.context, tz=tz))
        cls.company = cls.env.company
        cls.company.write(
            {
                "customer_tiering_basis": "sale",
                "customer_tiering_window_months": 12,
                "customer_tiering_frequency_months": 6,
                "customer_tiering_grace_days": 30,
            }
        )
        cls.tier_s = cls.env.ref("customer_tiering.tier_s")
        cls.tier_a = cls.env.ref("customer_tiering.tier_a")
        cls.tier_b = cls.env.ref("customer_tiering.tier_b")
        cls.tier_c = cls.env.ref("customer_tiering.tier_c")
        cls.product = cls.env["product.product"].create(
            {"name": "Tiering Test Service", "type": "service", "taxes_id": False}
        )
        cls.customer = cls.env["res.partner"].create(
            {"name": "Tiering Test Customer Ltd", "is_company": True}
        )
        cls.contact = cls.env["res.partner"].create(
            {"name": "Buyer of the test customer", "parent_id": cls.customer.id}
        )
        cls.salesman = new_test_user(
            cls.env,
            login="ct_salesman",
            groups="sales_team.group_sale_salesman",
            name="Tiering Salesman",
        )
        cls.manager = new_test_user(
            cls.env,
            login="ct_manager",
            groups="sales_team.group_sale_manager",
            name="Tiering Manager",
        )

    @classmethod
    def make_order(cls, partner, amount, days_ago=0, confirm=True, **values):
        """A sales order of ``amount`` (untaxed), dated ``days_ago``."""
        order = cls.env["sale.order"].create(
            {
                "partner_id": partner.id,
                "order_line": [
                    Command.create(
                        {
                            "product_id": cls.product.id,
                            "product_uom_qty": 1,
                            "price_unit": amount,
                        }
                    )
                ],
                **values,
            }
        )
        if confirm:
            order.action_confirm()
            if days_ago:
                # Noon of that day in the company's tiering time zone (the
                # figures take the order's local day), stored in UTC: "now"
                # minus N days would be a day off late in the evening, and
                # noon UTC is the next day east of UTC+12.
                day = fields.Date.context_today(order) - timedelta(days=days_ago)
                order.date_order = cls.local_noon(day)
        return order

    @classmethod
    def local_noon(cls, day):
        """Noon of ``day`` in the company's tiering time zone, as a naive UTC
        datetime (what datetime fields store)."""
        tz = pytz.timezone(cls.env.company._customer_tiering_tz_name())
        noon = tz.localize(datetime.combine(day, time(12)))
        return noon.astimezone(pytz.utc).replace(tzinfo=None)

    def profile(self, partner=None, company=None):
        return self.env["customer.profile"].search(
            [
                ("partner_id", "=", (partner or self.customer).id),
                ("company_id", "=", (company or self.company).id),
            ]
        )

    def tier_of(self, partner=None, company=None):
        partner = (partner or self.customer).with_company(company or self.company)
        partner.invalidate_recordset(["customer_tier_id"])
        return partner.customer_tier_id

    def refresh(self, today=None, partner=None):
        return self.env["customer.profile"]._refresh_partners(
            partner or self.customer, today=today
        )


class CompanyDayTours:
    """Mixin of the tour cases: the browser runs in the company's tiering
    time zone, as the users do (their ``tz``), so that "today" in the web
    client (``context_today()`` in the filters, the activity menu's "today"
    and "overdue") is the day the evaluations and the scheduler compute for,
    whatever the hour the tests run at.  Chromium takes its zone from
    ``TZ`` when it starts; this process keeps its own (Odoo's is UTC, set
    once with ``tzset`` at import)."""

    def start_tour(self, url_path, tour_name, **kwargs):
        zone = self.env.company._customer_tiering_tz_name()
        with patch.dict(os.environ, {"TZ": zone}):
            return super().start_tour(url_path, tour_name, **kwargs)
