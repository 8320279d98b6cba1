# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""No audit row or figure is lost: partner merge, deleting tiers and plans,
engine-owned figures, append-only history."""

from datetime import timedelta

from odoo import Command, fields
from odoo.exceptions import AccessError, UserError
from odoo.tests import tagged

from .common import TieringCase


@tagged("post_install", "-at_install")
class TestIntegrity(TieringCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.today = fields.Date.context_today(cls.customer)
        cls.duplicate = cls.env["res.partner"].create(
            {"name": "Tiering Test Customer (duplicate)", "is_company": True}
        )
        cls.call = cls.env.ref("mail.mail_activity_data_call")

    def merge(self, sources, destination):
        """Odoo's own merge wizard, as a user runs it."""
        wizard = (
            self.env["base.partner.merge.automatic.wizard"]
            .with_context(active_model="res.partner", active_ids=[])
            .create(
                {
                    "state": "selection",
                    "partner_ids": [Command.set((sources | destination).ids)],
                    "dst_partner_id": destination.id,
                }
            )
        )
        wizard.action_merge()
        self.env.invalidate_all()

    def override(self, partner, tier, reason):
        self.env["customer.tier.override.wizard"].create(
            {"partner_id": partner.id, "tier_id": tier.id, "reason": reason}
        ).action_apply()

    def touch(self, profile):
        return (
            self.env["customer.touch"]
            .sudo()
            .create(
                {
                    "profile_id": profile.id,
                    "partner_id": profile.partner_id.id,
                    "company_id": profile.company_id.id,
                    "date": self.today - timedelta(days=2),
                    "deadline": self.today - timedelta(days=3),
                    "state": "done",
                    "note": "Visited",
                }
            )
        )

    def followup(self, profile):
        return (
            self.env["mail.activity"]
            .with_context(mail_activity_quick_update=True)
            .create(
                {
                    "res_model_id": self.env["ir.model"]._get_id("res.partner"),
                    "res_id": profile.partner_id.id,
                    "activity_type_id": self.call.id,
                    "user_id": self.manager.id,
                    # Due: a plan switch cancels only follow-ups not yet due.
                    "date_deadline": self.today,
                    "customer_profile_id": profile.id,
                }
            )
        )

    # ------------------------------------------------------------------
    # Partner merge
    # ------------------------------------------------------------------
    def test_merge_moves_the_trail_and_reevaluates(self):
        self.make_order(self.customer, 300_000, days_ago=40)
        self.make_order(self.duplicate, 800_000, days_ago=30)
        self.refresh(partner=self.customer | self.duplicate)
        self.assertEqual(self.tier_of(), self.tier_c)
        self.assertEqual(self.tier_of(self.duplicate), self.tier_b)
        keep, gone = self.profile(), self.profile(self.duplicate)
        trail = {
            "history": gone.history_ids,
            "snapshots": gone.health_snapshot_ids,
            "touch": self.touch(gone),
            "followup": self.followup(gone),
        }
        self.assertTrue(trail["history"] and trail["snapshots"])
        review = self.env["customer.account.review"].create(
            {"partner_id": self.duplicate.id, "satisfaction": "4"}
        )
        Request = self.env["customer.tier.request"]
        requests = Request.create(
            [
                {
                    "partner_id": partner.id,
                    "requested_tier_id": self.tier_a.id,
                    "reason": "Reference customer",
                }
                for partner in (self.customer, self.duplicate)
            ]
        )
        self.merge(self.duplicate, self.customer)
        self.assertFalse(self.duplicate.exists())
        self.assertFalse(gone.exists())
        for name, records in trail.items():
            self.assertEqual(len(records.exists()), len(records), name)
        self.assertEqual(trail["history"].profile_id, keep)
        self.assertEqual(trail["snapshots"].profile_id, keep)
        self.assertEqual(trail["touch"].profile_id, keep)
        self.assertEqual(trail["touch"].partner_id, self.customer)
        self.assertEqual(trail["followup"].customer_profile_id, keep)
        self.assertEqual(trail["followup"].res_id, self.customer.id)
        self.assertEqual(review.partner_id, self.customer)
        # One open request per customer: the destination's; the other is
        # cancelled, not deleted.
        self.assertEqual(len(requests.exists()), 2)
        self.assertEqual(requests.mapped("state"), ["draft", "cancelled"])
        self.assertEqual(requests.partner_id, self.customer)
        # Re-evaluated at once on the merged figures: 1.1M is tier A.
        self.assertEqual(keep.revenue, 1_100_000)
        self.assertEqual(keep.tier_id, self.tier_a)
        self.assertEqual(self.tier_of(), self.tier_a)
        self.assertEqual(keep.history_ids.sorted("id")[-1].to_tier_id, self.tier_a)

    def test_merge_per_company(self):
        """Company 1: both have a profile (merged into the destination's);
        company B: only the source (its profile becomes the destination's)."""
        company_b = self.env["res.company"].create({"name": "Tiering Merge Co B"})
        self.make_order(self.customer, 300_000, days_ago=40)
        self.make_order(self.duplicate, 800_000, days_ago=30)
        self.env["customer.tier.override.wizard"].with_company(company_b).create(
            {
                "partner_id": self.duplicate.id,
                "company_id": company_b.id,
                "tier_id": self.tier_s.id,
                "reason": "Key account in B",
            }
        ).action_apply()
        keep = self.profile()
        in_b = self.profile(self.duplicate, company_b)
        history = self.profile(self.duplicate).history_ids | in_b.history_ids
        self.merge(self.duplicate, self.customer)
        self.assertEqual(self.profile(), keep)
        self.assertEqual(self.profile(company=company_b), in_b)
        self.assertEqual(len(history.exists()), len(history))
        self.assertEqual(history.partner_id, self.customer)
        self.assertEqual(history.profile_id, keep | in_b)
        self.assertEqual(self.tier_of(), self.tier_a)
        self.assertEqual(in_b.override_tier_id, self.tier_s)
        self.assertEqual(self.tier_of(company=company_b), self.tier_s)

    def test_merge_into_a_customer_without_profile(self):
        # The destination's orders predate the addon: no profile yet.
        self.make_order(self.customer, 600_000, confirm=False).with_context(
            customer_tiering_skip=True
        ).action_confirm()
        self.make_order(self.duplicate, 800_000, days_ago=30)
        profile = self.profile(self.duplicate)
        history = profile.history_ids
        self.assertEqual(profile.tier_id, self.tier_b)
        self.assertFalse(self.profile())
        self.merge(self.duplicate, self.customer)
        # The source's profile is now the destination's, re-evaluated at once
        # on both customers' orders: 1.4M is tier A.
        self.assertEqual(self.profile(), profile)
        self.assertLessEqual(history, profile.history_ids)
        self.assertEqual(profile.revenue, 1_400_000)
        self.assertEqual(profile.tier_id, self.tier_a)
        self.assertEqual(self.tier_of(), self.tier_a)

    def test_merge_keeps_the_destination_override(self):
        self.make_order(self.customer, 300_000, days_ago=40)
        self.make_order(self.duplicate, 800_000, days_ago=30)
        self.refresh(partner=self.customer | self.duplicate)
        self.override(self.customer, self.tier_b, "Destination's decision")
        self.override(self.duplicate, self.tier_s, "Source's decision")
        source_decision = self.profile(self.duplicate).history_ids.filtered(
            lambda h: h.cause == "override_set"
        )
        self.merge(self.duplicate, self.customer)
        profile = self.profile()
        self.assertEqual(profile.override_tier_id, self.tier_b)
        self.assertEqual(profile.override_reason, "Destination's decision")
        self.assertEqual(self.tier_of(), self.tier_b)
        # The source's decision stays in the (merged) history.
        self.assertEqual(source_decision.exists().profile_id, profile)
        self.assertEqual(source_decision.reason, "Source's decision")

    def test_merge_carries_a_source_override(self):
        self.make_order(self.customer, 300_000, days_ago=40)
        self.make_order(self.duplicate, 100_000, days_ago=30)
        self.override(self.duplicate, self.tier_s, "Reference customer")
        self.merge(self.duplicate, self.customer)
        profile = self.profile()
        self.assertEqual(profile.override_tier_id, self.tier_s)
        self.assertEqual(profile.override_reason, "Reference customer")
        self.assertEqual(profile.tier_id, self.tier_s)
        self.assertEqual(self.tier_of(), self.tier_s)

    # ------------------------------------------------------------------
    # Tiers
    # ------------------------------------------------------------------
    def test_tier_in_history_only_cannot_be_deleted(self):
        silver = self.env["customer.tier"].create(
            {
                "name": "Silver",
                "code": "SV",
                "rank": 25,
                "use_min_revenue": True,
                "min_revenue": 700_000,
            }
        )
        self.make_order(self.customer, 800_000, days_ago=30)
        self.refresh()
        self.assertEqual(self.tier_of(), silver)
        self.make_order(self.customer, 500_000)
        self.assertEqual(self.tier_of(), self.tier_a)
        self.assertEqual(self.profile().history_ids.from_tier_id, silver)
        self.assertFalse(silver.customer_count)
        with self.assertRaises(UserError) as caught:
            silver.unlink()
        self.assertIn("archive it instead", str(caught.exception))
        silver.action_archive()
        self.assertFalse(silver.active)
        # An unused tier can still be deleted.
        spare = self.env["customer.tier"].create(
            {
                "name": "Spare",
                "code": "SP",
                "rank": 35,
                "use_min_orders": True,
                "min_orders": 100,
            }
        )
        spare.unlink()

    def test_catch_all_of_a_used_ladder_cannot_be_archived(self):
        self.make_order(self.customer, 100_000)
        self.assertTrue(self.tier_c.is_catch_all)
        with self.assertRaises(UserError) as caught:
            self.tier_c.action_archive()
        self.assertIn("catch-all", str(caught.exception))
        self.assertTrue(self.tier_c.active)
        # The catch-all of a ladder nobody is tiered with may go.
        company = self.env["res.company"].create({"name": "Tiering Empty Co"})
        own = self.env["customer.tier"].create(
            {"name": "Everyone", "code": "E", "rank": 1, "company_id": company.id}
        )
        own.action_archive()
        self.assertFalse(own.active)

    # ------------------------------------------------------------------
    # Maintenance plans
    # ------------------------------------------------------------------
    def test_plan_in_use_cannot_be_deleted(self):
        self.make_order(self.customer, 100_000)
        Plan = self.env["customer.maintenance.plan"]
        plan = Plan.create(
            {
                "name": "Integrity Plan",
                "line_ids": [
                    Command.create({"name": "Call", "activity_type_id": self.call.id}),
                    Command.create({"name": "Visit", "activity_type_id": self.call.id}),
                ],
            }
        )
        call, visit = plan.line_ids
        profile = self.profile()
        profile.pinned_plan_id = plan
        self.assertEqual(profile.plan_id, plan)
        with self.assertRaises(UserError) as caught:
            plan.unlink()
        self.assertIn("archive it", str(caught.exception))
        # A touch recorded on a line keeps the line.
        self.touch(profile).write({"plan_id": plan.id, "plan_line_id": visit.id})
        with self.assertRaises(UserError):
            visit.unlink()
        self.assertTrue(call.exists() and visit.exists())
        Plan.create({"name": "Unused Plan"}).unlink()

    # ------------------------------------------------------------------
    # Engine-owned figures
    # ------------------------------------------------------------------
    def test_engine_fields_cannot_be_written(self):
        self.make_order(self.customer, 600_000)
        profile = self.profile()
        history = profile.history_ids
        self.assertEqual(profile.tier_id, self.tier_b)
        for who in (profile.with_user(self.manager), profile.sudo()):
            for vals in (
                {"tier_id": self.tier_s.id},
                {"revenue": 9_999_999},
                {"health_score": 100},
                {"plan_id": False},
                {"partner_id": self.duplicate.id},
            ):
                with self.assertRaises(UserError, msg=vals) as caught:
                    who.write(vals)
                self.assertIn("set an override instead", str(caught.exception))
        # The engine's context key alone (as over RPC) is not enough.
        with self.assertRaises(UserError):
            profile.with_user(self.manager).with_context(
                customer_tiering_engine=True
            ).write({"tier_id": self.tier_s.id})
        with self.assertRaises(UserError):
            self.env["customer.profile"].create(
                {
                    "partner_id": self.duplicate.id,
                    "company_id": self.company.id,
                    "tier_id": self.tier_s.id,
                }
            )
        # A salesperson is refused by the access rights, as before.
        with self.assertRaises(AccessError):
            profile.with_user(self.salesman).write({"tier_id": self.tier_s.id})
        self.env.invalidate_all()
        self.assertEqual(profile.tier_id, self.tier_b)
        self.assertEqual(self.tier_of(), self.tier_b)
        self.assertEqual(profile.history_ids, history)
        # What users may set stays writable; the override is the way.
        profile.with_user(self.manager).write({"pinned_plan_id": False})
        self.override(self.customer, self.tier_s, "Strategic project")
        self.assertEqual(self.tier_of(), self.tier_s)

    # ------------------------------------------------------------------
    # Append-only history
    # ------------------------------------------------------------------
    def test_history_and_snapshots_are_append_only(self):
        self.make_order(self.customer, 600_000)
        profile = self.profile()
        history, snapshots = profile.history_ids, profile.health_snapshot_ids
        self.assertTrue(history and snapshots)
        for records in (history, snapshots):
            with self.assertRaises(AccessError):
                records.with_user(self.manager).unlink()
            with self.assertRaises(UserError):
                records.sudo().unlink()
            with self.assertRaises(UserError):
                records.sudo().write({"company_id": self.company.id})
        with self.assertRaises(UserError):
            profile.sudo().unlink()
        self.assertTrue(history.exists() and snapshots.exists() and profile.exists())

    def test_partner_with_a_trail_cannot_be_deleted(self):
        self.override(self.duplicate, self.tier_a, "Pilot customer")
        history = self.profile(self.duplicate).history_ids
        self.assertTrue(history)
        with self.assertRaises(UserError) as caught:
            self.duplicate.unlink()
        self.assertIn("archive the contact", str(caught.exception))
        self.assertTrue(history.exists())
        self.duplicate.action_archive()
        # A partner without tiering trail is deleted as usual.
        self.env["res.partner"].create({"name": "Nobody", "is_company": True}).unlink()
