# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL

from .sql_arrays import array_literal


class CustomerMaintenancePlan(models.Model):
    """A service rhythm: what to do for a customer, how often and by whom.

    Customers follow the plan of their tier (``tier_ids``) unless a manager
    pins another one on their profile; the lines become follow-up activities
    (or automated e-mails) through the nightly scheduler.
    """

    _name = "customer.maintenance.plan"
    _description = "Customer Maintenance Plan"
    _order = "sequence, id"
    _check_company_auto = True

    name = fields.Char(required=True, translate=True)
    sequence = fields.Integer(default=10)
    active = fields.Boolean(default=True)
    company_id = fields.Many2one(
        "res.company",
        index=True,
        help="Leave empty to share the plan between companies.",
    )
    tier_ids = fields.Many2many(
        "customer.tier",
        string="Tiers",
        help="Customers of these tiers follow this plan unless a manager pins "
        "another plan on them.",
    )
    goal = fields.Text(
        translate=True,
        help="What the plan aims at, e.g. revenue +20 % a year, churn at most 5 %.",
    )
    target_growth = fields.Float(
        string="Target Revenue Growth (%)",
        help="Yearly revenue growth expected from the customers of this plan.",
    )
    target_health = fields.Float(
        string="Minimum Health Score",
        help="Health score (0 to 100) the customers of this plan should keep.",
    )
    line_ids = fields.One2many(
        "customer.maintenance.plan.line", "plan_id", string="Touches", copy=True
    )
    customer_count = fields.Integer(compute="_compute_customer_count")

    _sql_constraints = [
        (
            "target_health_range",
            "CHECK(target_health >= 0 AND target_health <= 100)",
            "The minimum health score must be between 0 and 100.",
        ),
    ]

    def _compute_customer_count(self):
        groups = self.env["customer.profile"]._read_group(
            [("plan_id", "in", self.ids)], ["plan_id"], ["__count"]
        )
        counts = {plan.id: count for plan, count in groups}
        for plan in self:
            plan.customer_count = counts.get(plan.id, 0)

    @api.model
    def _plans_by_tier(self, company):
        """``{tier_id: plan}``: the plan each tier follows by default in
        ``company`` (the company's own plans first, then the shared ones)."""
        plans = self.search(
            [("company_id", "in", [company.id, False])], order="sequence, id"
        ).sorted(lambda p: not p.company_id)
        result = {}
        for plan in plans:
            for tier in plan.tier_ids:
                result.setdefault(tier.id, plan)
        return result

    @api.model_create_multi
    def create(self, vals_list):
        plans = super().create(vals_list)
        if plans.tier_ids:
            # Customers move to their new plan with the next scheduling run.
            self.env["customer.profile"]._trigger_followups(tiers=plans.tier_ids)
        return plans

    def write(self, vals):
        tiers = self.tier_ids
        res = super().write(vals)
        if {"tier_ids", "active", "company_id"} & set(vals):
            # Customers move to their new plan with the next scheduling run,
            # the ones already checked today included.
            self.env["customer.profile"]._trigger_followups(
                plans=self, tiers=tiers | self.tier_ids
            )
        return res

    @api.ondelete(at_uninstall=False)
    def _unlink_except_used(self):
        """A plan that customers follow (or are pinned to), with open
        follow-ups or recorded touches, stays (archived): deleting it would
        orphan them (no rhythm, no compliance)."""
        self.env.flush_all()
        self.env.cr.execute(
            SQL(
                """
                SELECT pl.id FROM customer_maintenance_plan pl
                 WHERE pl.id = ANY(%(ids)s::int4[]) AND (
                       EXISTS (SELECT 1 FROM customer_profile
                                WHERE plan_id = pl.id OR pinned_plan_id = pl.id)
                    OR EXISTS (SELECT 1 FROM customer_touch WHERE plan_id = pl.id)
                    OR EXISTS (SELECT 1 FROM mail_activity a
                                 JOIN customer_maintenance_plan_line l
                                   ON l.id = a.customer_plan_line_id
                                WHERE l.plan_id = pl.id))
                """,
                ids=array_literal(self.ids),
            )
        )
        used = self.browse([row[0] for row in self.env.cr.fetchall()])
        if used:
            raise UserError(
                self.env._(
                    "Maintenance plan %(plans)s is in use (customers follow it, "
                    "or it has follow-ups or recorded touches): archive it "
                    "instead of deleting it.",
                    plans=", ".join(used.mapped("name")),
                )
            )

    def action_view_customers(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "customer_tiering.action_customer_profile"
        )
        action["domain"] = [("plan_id", "=", self.id)]
        action["context"] = {}
        return action
