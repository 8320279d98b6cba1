# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.tools.sql import create_index

from .customer_profile import ENGINE_CONTEXT

BANDS = [("healthy", "Healthy"), ("watch", "Watch"), ("at_risk", "At Risk")]


class CustomerHealthSnapshot(models.Model):
    """A customer's health on a day: one a month, plus one at every band change.

    Written by the refresh only (see ``health.snapshot_reason``): at most 12
    rows plus the band changes per customer and year, whatever the refresh
    frequency.  The trend of a score compares it with the snapshot of about
    30 days earlier.
    """

    _name = "customer.health.snapshot"
    _description = "Customer Health Snapshot"
    _order = "date desc, id desc"
    _rec_name = "partner_id"

    profile_id = fields.Many2one(
        "customer.profile", required=True, index=True, ondelete="cascade"
    )
    partner_id = fields.Many2one(
        "res.partner", string="Customer", required=True, index=True, ondelete="cascade"
    )
    company_id = fields.Many2one("res.company", required=True, index=True)
    date = fields.Date(required=True, index=True)
    score = fields.Float(aggregator="avg")
    band = fields.Selection(BANDS, required=True)
    tier_id = fields.Many2one("customer.tier", ondelete="set null")
    reason = fields.Selection(
        [("monthly", "Monthly"), ("band", "Band change")], required=True
    )

    def write(self, vals):
        # Append-only, as the tier history (see customer.tier.history).
        if not (self.env.su and self.env.context.get(ENGINE_CONTEXT)):
            self.check_access("write")
            raise UserError(
                self.env._(
                    "Health snapshots are an audit trail: they cannot be changed."
                )
            )
        return super().write(vals)

    @api.ondelete(at_uninstall=False)
    def _unlink_except_audit_trail(self):
        raise UserError(
            self.env._("Health snapshots are an audit trail: they cannot be deleted.")
        )

    def init(self):
        # The refresh's recent history: a batch of profiles, the last weeks.
        create_index(
            self.env.cr,
            "customer_health_snapshot_profile_date_idx",
            self._table,
            ["profile_id", "date"],
        )
