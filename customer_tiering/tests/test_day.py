# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The salesperson's day (issue 14): follow-ups on the day of a tier change,
views that stay true, reachable reports, individuals and contacts, the
team's language."""

from datetime import timedelta

from odoo import fields
from odoo.tests import new_test_user, tagged

from .common import TieringCase


@tagged("post_install", "-at_install")
class TestDay(TieringCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.leader = new_test_user(
            cls.env,
            login="ct_day_leader",
            groups="sales_team.group_sale_salesman",
            name="Day Leader",
        )
        team = cls.env["crm.team"].create(
            {"name": "Day Team", "user_id": cls.leader.id}
        )
        cls.env["crm.team.member"].create(
            {"crm_team_id": team.id, "user_id": cls.salesman.id}
        )
        cls.customer.write(
            {"user_id": cls.salesman.id, "customer_expert_user_id": cls.leader.id}
        )
        cls.plan_s = cls.env.ref("customer_tiering.plan_strategic")
        cls.plan_b = cls.env.ref("customer_tiering.plan_potential")
        cls.today = fields.Date.context_today(cls.env["customer.profile"])

    def followups(self, profile=None):
        return self.env["mail.activity"].search(
            [("customer_profile_id", "=", (profile or self.profile()).id)]
        )

    # ------------------------------------------------------------------
    # 1. Follow-ups on the day of a tier change
    # ------------------------------------------------------------------
    def test_tier_change_schedules_the_new_plan_at_once(self):
        self.make_order(self.customer, 600_000)
        profile = self.profile()
        self.assertEqual(profile.plan_id, self.plan_b)
        # last night's run went through the customer
        self.env["customer.profile"]._cron_schedule_followups()
        self.assertEqual(profile.followups_checked_on, self.today)
        before = self.followups()
        self.assertEqual(before.customer_plan_line_id, self.plan_b.line_ids)
        order = self.make_order(self.customer, 6_000_000, confirm=False)
        order.with_user(self.salesman).action_confirm()
        self.assertEqual(self.tier_of(), self.tier_s)
        self.assertEqual(profile.plan_id, self.plan_s)
        # in the same transaction: the new plan's first follow-ups, for their
        # owners, and the next touch
        followups = self.followups()
        new = followups.filtered(
            lambda a: a.customer_plan_line_id.plan_id == self.plan_s
        )
        self.assertEqual(new.customer_plan_line_id, self.plan_s.line_ids)
        self.assertEqual(set(new.mapped("date_deadline")), {self.today})
        self.assertIn(self.salesman, new.user_id)
        self.assertEqual(profile.next_touch_date, self.today)
        self.customer.invalidate_recordset()
        self.assertEqual(self.customer.customer_next_touch_date, self.today)
        # the salesperson sees them in the systray at once
        groups = self.env["res.users"].with_user(self.salesman)._get_activity_groups()
        partner_group = next(g for g in groups if g["model"] == "res.partner")
        self.assertGreaterEqual(partner_group["today_count"], 1)
        # the scheduler has nothing left to do for it today
        totals = self.env["customer.profile"]._cron_schedule_followups()
        self.assertEqual(totals["activities"], 0)

    def test_new_plan_line_reaches_customers_checked_today(self):
        self.make_order(self.customer, 5_000_000)
        profile = self.profile()
        self.env["customer.profile"]._cron_schedule_followups()
        self.assertEqual(profile.followups_checked_on, self.today)
        count = len(self.followups())
        line = self.env["customer.maintenance.plan.line"].create(
            {
                "plan_id": self.plan_s.id,
                "name": "Site visit",
                "activity_type_id": self.env.ref("mail.mail_activity_data_meeting").id,
                "interval_number": 2,
                "interval_unit": "months",
            }
        )
        self.env["customer.profile"]._cron_schedule_followups()
        self.assertEqual(len(self.followups()), count + 1)
        self.assertIn(line, self.followups().customer_plan_line_id)

    def test_plan_moved_to_another_tier_reaches_customers_checked_today(self):
        self.make_order(self.customer, 600_000)
        profile = self.profile()
        self.env["customer.profile"]._cron_schedule_followups()
        self.assertEqual(profile.plan_id, self.plan_b)
        # the strategic plan now also serves potential accounts
        self.plan_b.tier_ids = False
        self.plan_s.tier_ids |= self.tier_b
        self.env["customer.profile"]._cron_schedule_followups()
        self.assertEqual(profile.plan_id, self.plan_s)
        self.assertEqual(
            self.followups().customer_plan_line_id.filtered(
                lambda line: line.plan_id == self.plan_s
            ),
            self.plan_s.line_ids,
        )
        self.assertLessEqual(profile.next_touch_date, self.today + timedelta(days=0))

    def test_pinned_plan_schedules_at_once(self):
        self.make_order(self.customer, 600_000)
        profile = self.profile()
        self.env["customer.profile"]._cron_schedule_followups()
        self.customer.with_user(self.manager).customer_pinned_plan_id = self.plan_s
        self.assertEqual(
            self.followups().customer_plan_line_id.filtered(
                lambda line: line.plan_id == self.plan_s
            ),
            self.plan_s.line_ids,
        )
        self.assertEqual(profile.next_touch_date, self.today)

    # ------------------------------------------------------------------
    # 2. Views that stay true
    # ------------------------------------------------------------------
    def test_score_history_has_no_zero_filling(self):
        self.make_order(self.customer, 100_000)
        Snapshot = self.env["customer.health.snapshot"]
        profile = self.profile()
        for days, score in ((40, 80.0), (10, 70.0)):
            Snapshot.create(
                {
                    "profile_id": profile.id,
                    "partner_id": self.customer.id,
                    "company_id": self.company.id,
                    "date": self.today - timedelta(days=days),
                    "score": score,
                    "band": "healthy",
                    "reason": "monthly",
                }
            )
        action = self.customer.action_view_customer_health_history()
        self.assertIs(action["context"]["fill_temporal"], False)
        # what the graph reads with that context: the stored points only
        groups = Snapshot.with_context(**action["context"]).read_group(
            action["domain"], ["score:avg"], ["date:day"], lazy=False
        )
        self.assertNotIn(0.0, [g["score"] for g in groups])
        self.assertEqual(len(groups), len(Snapshot.search(action["domain"])))
        menu_action = self.env["ir.actions.act_window"]._for_xml_id(
            "customer_tiering.action_customer_health_snapshot"
        )
        self.assertIn("'fill_temporal': False", menu_action["context"])

    def test_todays_snapshot_follows_the_days_last_evaluation(self):
        self.make_order(self.customer, 100_000, days_ago=3)
        self.refresh()
        profile = self.profile()
        snapshots = profile.health_snapshot_ids
        self.assertEqual(len(snapshots), 1)
        self.assertEqual(snapshots.date, self.today)
        first = profile.health_score
        # later that day the customer's activities fall overdue
        for days in (1, 2, 3):
            self.env["mail.activity"].create(
                {
                    "res_model_id": self.env["ir.model"]._get_id("res.partner"),
                    "res_id": self.customer.id,
                    "activity_type_id": self.env.ref("mail.mail_activity_data_todo").id,
                    "summary": "Overdue",
                    "date_deadline": self.today - timedelta(days=days),
                    "user_id": self.salesman.id,
                }
            )
        self.refresh()
        self.assertLess(profile.health_score, first)
        profile.invalidate_recordset()
        snapshots = profile.health_snapshot_ids
        self.assertEqual(len(snapshots), 1, "one snapshot a day")
        self.assertAlmostEqual(snapshots.score, profile.health_score)
        self.assertEqual(snapshots.band, profile.health_band)
        # a confirmed order (the quick path) too
        self.make_order(self.customer, 50_000)
        profile.invalidate_recordset()
        self.assertEqual(len(profile.health_snapshot_ids), 1)
        self.assertAlmostEqual(profile.health_snapshot_ids.score, profile.health_score)

    def test_done_followup_rescores_at_once(self):
        self.make_order(self.customer, 5_000_000)
        profile = self.profile()
        profile._engine().plan_start = self.today - timedelta(days=10)
        self.env["mail.activity"].search(
            [("customer_profile_id", "=", profile.id)]
        ).with_context(customer_touch_recorded=True).unlink()
        profile._schedule_followups()
        self.refresh()

        def dims():
            profile.invalidate_recordset()
            return profile.health_data["raw"]

        overdue = self.followups().filtered(lambda a: a.date_deadline < self.today)
        self.assertTrue(overdue)
        before = dims()
        self.assertEqual(before["overdue_activities"], len(overdue))
        overdue[0].with_user(overdue[0].user_id).action_done()
        after = dims()
        self.assertEqual(after["overdue_activities"], len(overdue) - 1)
        # what a full evaluation gives now
        self.refresh()
        self.assertEqual(dims(), after)

    def test_run_marker_cleared_when_the_last_batch_ends_the_run(self):
        Profile = self.env["customer.profile"]
        self.make_order(self.customer, 100_000)
        Profile._request_full_refresh(reason="manual")
        self.assertTrue(self.company.customer_tiering_run_start)
        total = Profile.search_count([("company_id", "=", self.company.id)])
        Profile._cron_refresh(batch_size=total, max_batches=1)
        self.assertFalse(self.company.customer_tiering_run_start, "run over")
        # the next night starts a new run
        run = self.company.customer_tiering_run_id
        Profile._cron_refresh(batch_size=total, max_batches=1)
        self.assertEqual(self.company.customer_tiering_run_id, run + 1)

    def test_growth_and_compliance_empty_states(self):
        from lxml import etree

        def arch(model, view_type):
            views = self.env[model].get_views([(False, view_type)])
            return etree.fromstring(views["views"][view_type]["arch"])

        listing = arch("customer.profile", "list")
        growth = listing.xpath("//field[@name='growth']")[0]
        self.assertEqual(growth.get("invisible"), "revenue_prev <= 0")
        compliance = listing.xpath("//field[@name='plan_compliance']")[0]
        self.assertEqual(compliance.get("invisible"), "not touches_due")
        form = arch("customer.profile", "form")
        self.assertTrue(form.xpath("//div[@name='plan_compliance']/span"))
        self.assertTrue(form.xpath("//div[@name='growth']/span"))
        partner_form = arch("res.partner", "form")
        self.assertEqual(
            partner_form.xpath("//field[@name='customer_growth']")[0].get("invisible"),
            "customer_revenue_prev <= 0",
        )
        # a new customer: no previous revenue, no growth figure
        self.make_order(self.customer, 100_000)
        self.assertFalse(self.profile().revenue_prev)
        self.assertFalse(self.profile().growth)

    # ------------------------------------------------------------------
    # 3. Reachable
    # ------------------------------------------------------------------
    def test_salesperson_reaches_health_and_compliance_reports(self):
        Menu = self.env["ir.ui.menu"].with_user(self.salesman)
        visible = Menu._visible_menu_ids(debug=False)
        for xmlid in (
            "customer_tiering.menu_customer_health_snapshot",
            "customer_tiering.menu_customer_plan_compliance_report",
            "customer_tiering.menu_customer_profile",
        ):
            menu = self.env.ref(xmlid)
            self.assertIn(menu.id, visible, xmlid)
            # and every menu above it
            parent = menu.parent_id
            while parent:
                self.assertIn(parent.id, visible, f"{xmlid}: {parent.complete_name}")
                parent = parent.parent_id
            action = menu.action
            # raises if the salesperson may not read the report
            self.env[action.res_model].with_user(self.salesman).check_access("read")
        # the managers' history stays theirs
        self.assertNotIn(
            self.env.ref("customer_tiering.menu_customer_tier_history").id, visible
        )
        self.assertIn(
            self.env.ref("customer_tiering.menu_customer_tier_history").id,
            self.env["ir.ui.menu"]
            .with_user(self.manager)
            ._visible_menu_ids(debug=False),
        )

    # ------------------------------------------------------------------
    # 5. Individuals and contacts
    # ------------------------------------------------------------------
    def _partner_form_invisible(self, partner, xpath):
        """Whether the partner form hides the node at ``xpath`` for ``partner``
        (its ``invisible`` expression evaluated on the partner's values)."""
        from lxml import etree

        from odoo.tools.safe_eval import safe_eval

        views = self.env["res.partner"].get_views([(False, "form")])
        node = etree.fromstring(views["views"]["form"]["arch"]).xpath(xpath)[0]
        values = {
            "is_company": partner.is_company,
            "parent_id": partner.parent_id.id,
            "customer_health_snapshot_count": partner.customer_health_snapshot_count,
            "customer_tier_id": partner.customer_tier_id.id,
            "customer_health_band": partner.customer_health_band,
            "customer_company_tier_id": partner.customer_company_tier_id.id,
        }
        return bool(safe_eval(node.get("invisible") or "False", values))

    def test_individual_customer_shows_its_tabs(self):
        person = self.env["res.partner"].create({"name": "Wang Fang"})
        self.assertFalse(person.is_company or person.parent_id)
        self.make_order(person, 1_200_000)
        self.assertEqual(self.tier_of(person), self.tier_a)
        self.assertTrue(self.profile(person))
        for page in ("customer_tiering", "customer_health"):
            xpath = f"//page[@name='{page}']"
            self.assertFalse(self._partner_form_invisible(person, xpath), page)
            self.assertTrue(self._partner_form_invisible(self.contact, xpath), page)
            self.assertFalse(self._partner_form_invisible(self.customer, xpath), page)

    def test_contact_shows_its_companys_tier(self):
        self.make_order(self.customer, 1_200_000)
        contact = self.contact.with_user(self.salesman)
        self.customer.user_id = self.salesman
        self.assertEqual(contact.customer_company_tier_id, self.tier_a)
        self.assertEqual(contact.customer_company_tier_color, self.tier_a.color)
        self.assertFalse(
            self._partner_form_invisible(
                self.contact, "//field[@name='customer_company_tier_id']"
            )
        )
        self.assertFalse(
            self._partner_form_invisible(
                self.contact, "//div[@name='customer_tier_badges']"
            )
        )
        self.assertTrue(
            self._partner_form_invisible(
                self.customer, "//field[@name='customer_company_tier_id']"
            )
        )
        # a portal user reads none of it
        self.assertIn(
            "customer_tiering.group_customer_tiering_user",
            self.env["res.partner"]._fields["customer_company_tier_id"].groups,
        )

    # ------------------------------------------------------------------
    # 4. The team's language
    # ------------------------------------------------------------------
    def test_nightly_notes_and_followups_in_chinese(self):
        self.env["res.lang"]._activate_lang("zh_CN")
        self.env["ir.module.module"]._load_module_terms(
            ["customer_tiering"], ["zh_CN"], overwrite=True
        )
        self.salesman.lang = "zh_CN"
        self.leader.lang = "zh_CN"
        self.customer.lang = "zh_CN"
        # orders recorded without the hook: the nightly run tiers the customer
        self.make_order(self.customer, 5_000_000, confirm=False).with_context(
            customer_tiering_skip=True
        ).action_confirm()
        # the jobs run as OdooBot, in English
        Profile = self.env["customer.profile"].with_context(lang="en_US")
        Profile._cron_refresh()
        self.assertEqual(self.tier_of(), self.tier_s)
        bodies = self.customer.message_ids.mapped("body")
        tier_note = next(b for b in bodies if "战略" in b)
        self.assertIn("客户级别设为", tier_note)
        self.assertFalse([b for b in bodies if "customer tier" in b])
        followups = self.followups()
        self.assertTrue(followups)
        call = followups.filtered(
            lambda a: (
                a.customer_plan_line_id
                == self.env.ref("customer_tiering.plan_strategic_call")
            )
        )
        self.assertEqual(call.user_id, self.salesman)
        self.assertEqual(call.summary, "每周电话：行业趋势报告")
        # the nightly scheduler too (a new touch after a plan change)
        followups.with_context(customer_touch_recorded=True).unlink()
        self.profile()._engine().followups_checked_on = False
        Profile._cron_schedule_followups()
        call = self.followups().filtered(lambda a: a.user_id == self.salesman)
        self.assertIn("每周电话：行业趋势报告", call.mapped("summary"))
        # a plan change, noted in the customer's language
        self.customer.with_user(self.manager).with_context(
            lang="en_US"
        ).customer_pinned_plan_id = self.plan_b
        note = self.customer.message_ids[0].body
        self.assertIn("维护计划由", note)
        self.assertIn(self.plan_b.with_context(lang="zh_CN").name, note)

    # ------------------------------------------------------------------
    # 7. A newcomer finds the way (demo data)
    # ------------------------------------------------------------------
    def test_demo_customers_show_in_the_customers_menu(self):
        demo = self.env.ref("customer_tiering.demo_partner_jiangnan", False)
        if not demo:
            self.skipTest("needs the demo data")  # pragma: no cover
        companies = self.env["res.partner"].search(
            [("customer_profile_ids", "!=", False), ("is_company", "=", True)]
        )
        # the "Customers" filter of Sales > Orders > Customers (on by default)
        shown = self.env["res.partner"].search([("customer_rank", ">", 0)])
        for xmlid in (
            "demo_partner_jiangnan",
            "demo_partner_tianfu",
            "demo_partner_qinghe",
            "demo_partner_beigang",
        ):
            self.assertIn(self.env.ref(f"customer_tiering.{xmlid}"), shown, xmlid)
        self.assertTrue(companies)
        # the demo salesperson's customers: their orders are his
        marc = self.env.ref("base.user_demo")
        for xmlid in ("demo_partner_jiangnan", "demo_partner_tianfu"):
            partner = self.env.ref(f"customer_tiering.{xmlid}")
            self.assertEqual(partner.user_id, marc)
            orders = self.env["sale.order"].search(
                [("partner_id", "child_of", partner.id)]
            )
            self.assertTrue(orders)
            self.assertEqual(orders.user_id, marc, xmlid)

    def test_done_overdue_activity_rescores_at_once(self):
        self.make_order(self.customer, 100_000)
        todo = self.env["mail.activity"].create(
            {
                "res_model_id": self.env["ir.model"]._get_id("res.partner"),
                "res_id": self.contact.id,
                "activity_type_id": self.env.ref("mail.mail_activity_data_todo").id,
                "summary": "Send the catalogue",
                "date_deadline": self.today - timedelta(days=2),
                "user_id": self.salesman.id,
            }
        )
        self.refresh()
        profile = self.profile()

        def overdue():
            profile.invalidate_recordset()
            dims = profile.health_data["raw"]
            return dims["overdue_activities"]

        self.assertEqual(overdue(), 1)
        before = profile.health_score
        todo.with_user(self.salesman).action_done()
        self.assertEqual(overdue(), 0)
        self.assertGreater(profile.health_score, before)
        # an activity on a partner without profile creates none
        stranger = self.env["res.partner"].create({"name": "No orders Ltd"})
        self.env["mail.activity"].create(
            {
                "res_model_id": self.env["ir.model"]._get_id("res.partner"),
                "res_id": stranger.id,
                "activity_type_id": self.env.ref("mail.mail_activity_data_todo").id,
                "date_deadline": self.today - timedelta(days=2),
                "user_id": self.salesman.id,
            }
        ).action_done()
        self.assertFalse(self.profile(stranger))

    def test_review_report_growth_of_a_new_customer(self):
        """No revenue the window before: no growth figure (not 0 %), and a
        growth criterion holds as the tiering decides (from nothing)."""
        self.tier_a.write({"use_min_growth": True, "min_growth": 10.0})
        self.make_order(self.customer, 1_200_000)
        self.assertEqual(self.tier_of(), self.tier_a)
        Report = self.env["report.customer_tiering.report_account_review"]
        ladder = self.env["customer.tier"].search([])
        rows = {row[0]: row for row in Report._criteria(self.profile(), ladder)["rows"]}
        __, value, __, cells = rows["growth"]
        self.assertIsNone(value)
        met = {tier: ok for tier, __, ok in cells}
        self.assertIs(met[self.tier_a], True, "the tier it carries is met")

    def test_history_of_a_new_customer_has_no_growth_figure(self):
        self.make_order(self.customer, 100_000)
        first = self.profile().history_ids
        self.assertFalse(first.growth_known, "no revenue the window before")
        self.make_order(self.customer, 50_000, days_ago=400)
        self.make_order(self.customer, 1_200_000)
        latest = self.profile().history_ids.sorted("id")[-1]
        self.assertEqual(latest.to_tier_id, self.tier_a)
        self.assertTrue(latest.growth_known)
        self.assertGreater(latest.growth, 0)
