# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The Key Accounts list for a manager: its "My Accounts" and "My Team"
filters (their domains evaluated as the web client does), and the form's
header actions."""

from dateutil.relativedelta import relativedelta
from lxml import etree

from odoo import Command
from odoo.exceptions import UserError
from odoo.tests import new_test_user, tagged
from odoo.tools.safe_eval import datetime as safe_datetime
from odoo.tools.safe_eval import safe_eval

from .common import TieringCase


@tagged("post_install", "-at_install")
class TestKeyAccounts(TieringCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        groups = "sales_team.group_sale_salesman_all_leads"
        # A team: its leader and two members; a salesman of another team.
        cls.leader = new_test_user(cls.env, login="ct_leader", groups=groups)
        cls.member = new_test_user(cls.env, login="ct_member", groups=groups)
        cls.mate = new_test_user(cls.env, login="ct_mate", groups=groups)
        cls.outsider = new_test_user(cls.env, login="ct_outsider", groups=groups)
        cls.env["crm.team"].create(
            {
                "name": "Key Accounts Test Team",
                "user_id": cls.leader.id,
                "member_ids": [Command.set((cls.member | cls.mate).ids)],
            }
        )
        cls.env["crm.team"].create(
            {
                "name": "Other Test Team",
                "member_ids": [Command.set(cls.outsider.ids)],
            }
        )
        Partner = cls.env["res.partner"]
        cls.customers = {}
        for key, user in (
            ("leader", cls.leader),
            ("member", cls.member),
            ("mate", cls.mate),
            ("outsider", cls.outsider),
            ("nobody", cls.env["res.users"]),
        ):
            cls.customers[key] = Partner.create(
                {
                    "name": f"Key Accounts Test {key}",
                    "is_company": True,
                    "user_id": user.id,
                }
            )
        Profile = cls.env["customer.profile"]
        cls.profiles = Profile.browse(
            Profile._ensure_profiles(
                [partner.id for partner in cls.customers.values()], cls.company
            )
        )
        search = etree.fromstring(
            cls.env.ref("customer_tiering.view_customer_profile_search").arch
        )
        cls.filters = {
            node.get("name"): node.get("domain") for node in search.iter("filter")
        }

    def _filtered(self, user, name):
        """The test customers the search filter ``name`` shows ``user``."""
        domain = safe_eval(
            self.filters[name],
            {
                "uid": user.id,
                "context_today": safe_datetime.datetime.now,
                "relativedelta": relativedelta,
            },
        )
        found = (
            self.env["customer.profile"]
            .with_user(user)
            .search([*domain, ("id", "in", self.profiles.ids)])
        )
        keys = {partner.id: key for key, partner in self.customers.items()}
        return {keys[profile.partner_id.id] for profile in found}

    def test_my_accounts(self):
        self.assertEqual(self._filtered(self.member, "my_accounts"), {"member"})
        self.assertEqual(self._filtered(self.leader, "my_accounts"), {"leader"})
        self.assertEqual(self._filtered(self.outsider, "my_accounts"), {"outsider"})

    def test_my_team_salesman(self):
        # A member sees his team mates' customers and his own, not those of
        # another team nor the unassigned ones.
        self.assertEqual(self._filtered(self.member, "my_team"), {"member", "mate"})
        self.assertEqual(self._filtered(self.outsider, "my_team"), {"outsider"})

    def test_my_team_leader(self):
        # The leader (not a member of his team) sees his members' customers
        # and his own.
        self.assertEqual(
            self._filtered(self.leader, "my_team"), {"leader", "member", "mate"}
        )

    def test_salesperson_shown(self):
        profile = self.profiles.filtered(
            lambda p: p.partner_id == self.customers["member"]
        )
        self.assertEqual(profile.user_id, self.member)

    def test_header_actions(self):
        profile = self.profiles.filtered(
            lambda p: p.partner_id == self.customers["member"]
        )
        # Override: the dialog for this customer in the profile's company.
        action = profile.with_user(self.manager).action_override()
        self.assertEqual(action["res_model"], "customer.tier.override.wizard")
        self.assertEqual(action["context"]["default_company_id"], self.company.id)
        self.assertEqual(
            action["context"]["default_partner_id"], self.customers["member"].id
        )
        with self.assertRaises(UserError):
            profile.with_user(self.member).action_override()
        with self.assertRaises(UserError):
            profile.with_user(self.member).action_clear_override()
        # End the override: the computed tier applies again at once.
        self.env["customer.tier.override.wizard"].create(
            {
                "partner_id": self.customers["member"].id,
                "tier_id": self.tier_a.id,
                "reason": "Test",
            }
        ).action_apply()
        self.assertEqual(profile.tier_id, self.tier_a)
        profile.with_user(self.manager).action_clear_override()
        self.assertFalse(profile.override_active)
        self.assertEqual(profile.tier_id, self.tier_c)
        self.assertEqual(profile.history_ids.sorted("id")[-1:].cause, "override_ended")
        # History: the customer's tier changes in the profile's company.
        action = profile.action_open_history()
        self.assertIn(("company_id", "=", self.company.id), action["domain"])

    def test_form_header_buttons(self):
        form = etree.fromstring(
            self.env["customer.profile"].get_view(view_type="form")["arch"]
        )
        names = {button.get("name") for button in form.iter("button")}
        report = self.env.ref("customer_tiering.action_report_account_review_profile")
        request = self.env.ref("customer_tiering.action_customer_tier_request_new")
        for name in (
            "action_open_history",
            "action_override",
            "action_clear_override",
            "action_refresh",
            str(report.id),
            str(request.id),
        ):
            self.assertIn(name, names)
