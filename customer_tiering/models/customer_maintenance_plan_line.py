# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from markupsafe import Markup

from odoo import api, fields, models
from odoo.exceptions import UserError, ValidationError
from odoo.tools import SQL, is_html_empty

from .sql_arrays import array_literal

# The vocabulary of mail.activity.plan.template's responsible_type, with the
# owners a customer has.
RESPONSIBLE_TYPES = [
    ("salesperson", "Salesperson"),
    ("expert", "Expert"),
    ("team_leader", "Sales Team Leader"),
    ("other", "Default user"),
]

# Changing one of these changes when the line's next touch is due.
RHYTHM_FIELDS = {"interval_number", "interval_unit", "lead_days", "kind"}


class CustomerMaintenancePlanLine(models.Model):
    """One touch of a plan: what, through which channel, how often, by whom."""

    _name = "customer.maintenance.plan.line"
    _description = "Customer Maintenance Plan Touch"
    _order = "plan_id, sequence, id"
    _check_company_auto = True

    plan_id = fields.Many2one(
        "customer.maintenance.plan",
        required=True,
        index=True,
        ondelete="cascade",
    )
    company_id = fields.Many2one(related="plan_id.company_id", store=True)
    sequence = fields.Integer(default=10)
    name = fields.Char(
        string="Summary",
        required=True,
        translate=True,
        help="What to do, e.g. send the industry trend report.",
    )
    note = fields.Html(
        string="Content",
        translate=True,
        help="Details copied into each follow-up activity.",
    )
    kind = fields.Selection(
        [("activity", "Activity"), ("email", "Automated e-mail")],
        string="Action",
        default="activity",
        required=True,
    )
    activity_type_id = fields.Many2one(
        "mail.activity.type",
        string="Channel",
        domain="['|', ('res_model', '=', False), ('res_model', '=', 'res.partner')]",
        ondelete="restrict",
        default=lambda self: self.env.ref(
            "mail.mail_activity_data_call", raise_if_not_found=False
        ),
    )
    icon = fields.Char(related="activity_type_id.icon")
    mail_template_id = fields.Many2one(
        "mail.template",
        string="E-mail Template",
        domain="[('model', '=', 'res.partner')]",
        ondelete="restrict",
    )
    interval_number = fields.Integer(string="Every", default=1, required=True)
    interval_unit = fields.Selection(
        [("days", "Days"), ("weeks", "Weeks"), ("months", "Months")],
        string="Unit",
        default="months",
        required=True,
    )
    responsible_type = fields.Selection(
        RESPONSIBLE_TYPES,
        string="Assignment",
        default="salesperson",
        required=True,
        help="Who does the touch. When that user is missing or archived, the "
        "sales team leader does it, then the default user of the Settings.",
    )
    responsible_id = fields.Many2one(
        "res.users",
        string="Assigned to",
        domain="[('share', '=', False)]",
        check_company=True,
    )
    key_moment_interval_days = fields.Integer(
        string="Key Moment Interval (days)",
        help="How often this touch comes while a key moment of the customer "
        "(a contract renewal, a large project...) is near, in days. Empty: "
        "half the normal interval. Never slower than the normal interval.",
    )
    lead_days = fields.Integer(
        string="Days Ahead",
        default=3,
        help="The follow-up activity is created this many days before it is due.",
    )

    _sql_constraints = [
        (
            "interval_positive",
            "CHECK(interval_number >= 1)",
            "A touch must repeat at least every 1 day, week or month.",
        ),
        (
            "key_moment_interval_positive",
            "CHECK(key_moment_interval_days IS NULL OR key_moment_interval_days >= 0)",
            "The key moment interval cannot be negative.",
        ),
        (
            "lead_days_positive",
            "CHECK(lead_days >= 0)",
            "The days ahead cannot be negative.",
        ),
    ]

    @api.model_create_multi
    def create(self, vals_list):
        lines = super().create(vals_list)
        # The plan's customers get the new touch with the next scheduling run
        # (soon), even those already checked today.
        self.env["customer.profile"]._trigger_followups(plans=lines.plan_id)
        return lines

    def write(self, vals):
        res = super().write(vals)
        if RHYTHM_FIELDS & set(vals):
            self.env["customer.profile"]._trigger_followups(plans=self.plan_id)
        return res

    @api.constrains("kind", "activity_type_id", "mail_template_id")
    def _check_channel(self):
        for line in self:
            if line.kind == "activity" and not line.activity_type_id:
                raise ValidationError(
                    self.env._("Touch %(name)s needs a channel.", name=line.name)
                )
            if line.kind == "email" and not line.mail_template_id:
                raise ValidationError(
                    self.env._(
                        "Automated e-mail %(name)s needs a template.", name=line.name
                    )
                )

    @api.constrains("responsible_type", "responsible_id")
    def _check_responsible(self):
        for line in self:
            if line.responsible_type == "other" and not line.responsible_id:
                raise ValidationError(
                    self.env._(
                        'When selecting "Default user" assignment, you must '
                        "specify a responsible (touch %(name)s).",
                        name=line.name,
                    )
                )

    @api.ondelete(at_uninstall=False)
    def _unlink_except_used(self):
        """A touch with follow-ups (open or not) or recorded touches stays:
        deleting it would orphan them."""
        self.env.flush_all()
        self.env.cr.execute(
            SQL(
                """
                SELECT l.id FROM customer_maintenance_plan_line l
                 WHERE l.id = ANY(%(ids)s::int4[]) AND (
                       EXISTS (SELECT 1 FROM customer_touch
                                WHERE plan_line_id = l.id)
                    OR EXISTS (SELECT 1 FROM mail_activity
                                WHERE customer_plan_line_id = l.id))
                """,
                ids=array_literal(self.ids),
            )
        )
        used = self.browse([row[0] for row in self.env.cr.fetchall()])
        if used:
            raise UserError(
                self.env._(
                    "Touch %(touches)s of a maintenance plan has follow-ups or "
                    "recorded touches: it cannot be deleted. To stop it, archive "
                    "its plan (duplicate the plan first to keep its other "
                    "touches).",
                    touches=", ".join(used.mapped("name")),
                )
            )

    @api.onchange("activity_type_id")
    def _onchange_activity_type_id(self):
        if self.activity_type_id and not self.name:
            self.name = self.activity_type_id.summary or self.activity_type_id.name

    def _lead_days(self):
        """Automated e-mails leave on their due date; activities ahead of it."""
        self.ensure_one()
        return 0 if self.kind == "email" else self.lead_days

    def _owner_candidates(self, partner, company):
        """``(role, user_id)`` by preference: the owner the line asks for, then
        the leader of the salesperson's sales team, then the company's
        default user."""
        self.ensure_one()
        salesperson = partner.user_id
        # An archived salesperson has lost its (archived) team membership.
        team = (
            salesperson.sale_team_id
            or salesperson.with_context(active_test=False)
            .crm_team_member_ids[:1]
            .crm_team_id
        )
        leader = team.user_id
        preferred = {
            "salesperson": salesperson,
            "expert": partner.customer_expert_user_id,
            "team_leader": leader,
            "other": self.responsible_id,
        }[self.responsible_type]
        candidates = [(self.responsible_type, preferred.id)]
        if self.responsible_type != "team_leader":
            candidates.append(("team_leader", leader.id))
        candidates.append(("default", company.customer_plan_default_user_id.id))
        return candidates

    def _activity_values(self, profile, deadline, owner, model_id=None, common=None):
        """Values of the follow-up activity of this line for ``profile``
        (``model_id``: the id of res.partner's ir.model, if known;
        ``common``: ``_activity_common_values`` of this line and owner, if
        already known)."""
        self.ensure_one()
        if common is None:
            common = self._activity_common_values(owner, model_id=model_id)
        return {
            **common,
            "res_id": profile.partner_id.id,
            "date_deadline": deadline,
            "user_id": owner.user_id,
            "customer_profile_id": profile.id,
        }

    def _activity_common_values(self, owner, model_id=None):
        """The values of this line's follow-up activities that do not depend
        on the customer, for ``owner`` (in the language of ``self``)."""
        self.ensure_one()
        note = Markup() if is_html_empty(self.note) else Markup(self.note)
        if owner.fallback:
            roles = dict(
                self._fields["responsible_type"]._description_selection(self.env)
            )
            note += Markup("<p><i>%s</i></p>") % self.env._(
                "Assigned to you because the %(role)s of the customer is missing "
                "or archived.",
                role=roles[self.responsible_type],
            )
        return {
            "res_model_id": model_id or self.env["ir.model"]._get_id("res.partner"),
            "activity_type_id": self.activity_type_id.id,
            "summary": self.name,
            "note": note,
            "automated": True,
            "customer_plan_line_id": self.id,
        }
