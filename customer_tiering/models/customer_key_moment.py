# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from collections import defaultdict

from odoo import api, fields, models
from odoo.tools import format_date

from ..engine import cadence
from .commercial_partner import commercial_partner_vals

# Changing one of these changes the customer's rhythm.
RHYTHM_FIELDS = {"partner_id", "company_id", "type_id", "date", "active", "done"}


class CustomerKeyMoment(models.Model):
    """A key moment of a customer (a contract renewal, a large project, a
    regulatory change...), recorded by its salesperson: during the window of
    its kind before it, the customer's follow-ups come at the faster rhythm
    of its plan (see the engine's ``cadence.next_due``)."""

    _name = "customer.key.moment"
    _description = "Customer Key Moment"
    _inherit = ["mail.thread"]
    _order = "date, id"
    _check_company_auto = True

    partner_id = fields.Many2one(
        "res.partner",
        string="Customer",
        required=True,
        index=True,
        ondelete="cascade",
        tracking=True,
        domain="['|', ('is_company', '=', True), ('parent_id', '=', False)]",
    )
    company_id = fields.Many2one(
        "res.company",
        required=True,
        index=True,
        default=lambda self: self.env.company,
    )
    type_id = fields.Many2one(
        "customer.key.moment.type",
        string="Kind",
        required=True,
        ondelete="restrict",
        tracking=True,
        check_company=True,
        domain="[('company_id', 'in', [company_id, False])]",
    )
    date = fields.Date(
        required=True,
        index=True,
        tracking=True,
        help="When it happens: the renewal date, the project's start, the "
        "regulation's effective date.",
    )
    note = fields.Text(help="What is at stake, who decides, what to prepare.")
    user_id = fields.Many2one(
        "res.users",
        string="Recorded By",
        required=True,
        readonly=True,
        default=lambda self: self.env.user,
        index=True,
    )
    done = fields.Boolean(
        tracking=True,
        help="The moment is settled (the contract renewed, the project "
        "decided...): it no longer raises the rhythm.",
    )
    active = fields.Boolean(default=True)
    rhythm_from = fields.Date(
        string="Faster Rhythm From",
        compute="_compute_rhythm_from",
        help="From this day until the moment, the customer's follow-ups come "
        "at the faster rhythm of its plan.",
    )

    @api.depends("type_id", "date")
    def _compute_display_name(self):
        for moment in self:
            moment.display_name = (
                self.env._(
                    "%(kind)s on %(date)s",
                    kind=moment.type_id.name,
                    date=format_date(self.env, moment.date),
                )
                if moment.type_id and moment.date
                else moment.type_id.name or ""
            )

    @api.depends("type_id.window_days", "date", "create_date")
    def _compute_rhythm_from(self):
        for moment in self:
            moment.rhythm_from = moment.date and moment._window().opens

    def _window(self):
        """The engine's window of this moment (one being recorded is
        recorded today), as the scheduler reads it: recorded on the day of
        its ``create_date`` in the company's tiering time zone."""
        self.ensure_one()
        company = self.company_id or self.env.company
        return cadence.key_moment_window(
            self.date,
            self.type_id.window_days,
            recorded_on=company._customer_tiering_date(self.create_date),
            moment_id=self.id,
        )

    # ------------------------------------------------------------------
    # The customer's rhythm follows its moments at once
    # ------------------------------------------------------------------
    @api.model_create_multi
    def create(self, vals_list):
        moments = super().create(
            [commercial_partner_vals(self.env, v) for v in vals_list]
        )
        moments._reschedule(moments._targets())
        return moments

    def write(self, vals):
        before = self._targets() if RHYTHM_FIELDS & set(vals) else {}
        res = super().write(commercial_partner_vals(self.env, vals))
        if RHYTHM_FIELDS & set(vals):
            targets = self._targets()
            for company, partners in before.items():
                targets[company] |= partners
            self._reschedule(targets)
        return res

    def unlink(self):
        targets = self._targets()
        res = super().unlink()
        self._reschedule(targets)
        return res

    def _targets(self):
        """``{company: partners}`` of these moments."""
        targets = defaultdict(lambda: self.env["res.partner"])
        for moment in self:
            targets[moment.company_id] |= moment.partner_id
        return targets

    @api.model
    def _reschedule(self, targets):
        """Schedule the follow-ups of these customers again, now: a moment
        recorded, moved or settled moves their next touch."""
        # sudo: scheduling is the system's, as in the nightly run (it creates
        # and moves the follow-ups of every owner of the customer); the user
        # only recorded the moment, on a customer they may see.
        Profile = self.env["customer.profile"].sudo()
        for company, partners in targets.items():
            profiles = Profile.search(
                [("company_id", "=", company.id), ("partner_id", "in", partners.ids)]
            )
            if profiles:
                profiles.with_company(company)._schedule_followups()
        self.env["res.partner"].invalidate_model(
            ["customer_key_moment_ids", "customer_next_key_moment_id"]
        )
        self.env["customer.profile"].invalidate_model(["health_reasons"])
