# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import fields, models
from odoo.tools import SQL

from .sql_arrays import array_literal


class CustomerKeyMomentType(models.Model):
    """A kind of key moment (contract renewal, large project, regulatory
    change...): how many days before it the customer's follow-ups come at
    the plans' faster rhythm."""

    _name = "customer.key.moment.type"
    _description = "Customer Key Moment Kind"
    _order = "sequence, id"
    _check_company_auto = True

    name = fields.Char(required=True, translate=True)
    sequence = fields.Integer(default=10)
    window_days = fields.Integer(
        string="Window (days)",
        default=90,
        required=True,
        help="During this many days before the moment (and on its day), the "
        "customer's follow-ups come at the faster rhythm of its plan.",
    )
    active = fields.Boolean(default=True)
    company_id = fields.Many2one(
        "res.company",
        index=True,
        help="Leave empty to use this kind in every company.",
    )

    _sql_constraints = [
        (
            "window_days_positive",
            "CHECK(window_days >= 0)",
            "The window of a key moment cannot be negative.",
        ),
    ]

    def write(self, vals):
        res = super().write(vals)
        if {"window_days", "active"} & set(vals):
            self._reschedule_customers()
        return res

    def _reschedule_customers(self):
        """The customers with a moment of these kinds are scheduled again by
        the next run of the scheduler (soon): their rhythm may have changed."""
        self.env.flush_all()
        self.env.cr.execute(
            SQL(
                """
                SELECT p.id
                  FROM customer_profile p
                  JOIN customer_key_moment m
                    ON m.partner_id = p.partner_id AND m.company_id = p.company_id
                 WHERE m.type_id = ANY(%(ids)s::int4[])
                """,
                ids=array_literal(self.ids),
            )
        )
        profiles = self.env["customer.profile"].browse(
            sorted({row[0] for row in self.env.cr.fetchall()})
        )
        if profiles:
            profiles._engine().write({"followups_checked_on": False})
            profiles._trigger_followups()
