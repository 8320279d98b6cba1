# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from markupsafe import Markup

from odoo import api, fields, models
from odoo.exceptions import UserError

from .customer_profile import CAUSES, ENGINE_CONTEXT


class CustomerTierHistory(models.Model):
    """Every change of a customer's carried tier: when, from, to, why, by whom."""

    _name = "customer.tier.history"
    _description = "Customer Tier Change"
    _order = "date desc, id desc"
    _rec_name = "partner_id"

    profile_id = fields.Many2one(
        "customer.profile", required=True, index=True, ondelete="cascade"
    )
    partner_id = fields.Many2one(
        "res.partner", string="Customer", required=True, index=True, ondelete="cascade"
    )
    company_id = fields.Many2one("res.company", required=True, index=True)
    currency_id = fields.Many2one(related="company_id.currency_id")
    date = fields.Datetime(required=True, default=fields.Datetime.now, index=True)
    from_tier_id = fields.Many2one("customer.tier", string="From", ondelete="set null")
    to_tier_id = fields.Many2one("customer.tier", string="To", ondelete="set null")
    cause = fields.Selection(CAUSES, required=True)
    user_id = fields.Many2one(
        "res.users", string="By", default=lambda self: self.env.user
    )
    reason = fields.Text()
    revenue = fields.Monetary()
    growth = fields.Float(string="Growth (%)", aggregator="avg")
    growth_known = fields.Boolean(
        string="Growth Figure",
        default=True,
        help="Unticked when the customer had no revenue in the window before: "
        "it is new, there is no growth figure (it is not 0 %).",
    )
    order_count = fields.Integer(string="Recent Orders")
    lifetime_revenue = fields.Monetary()
    direction = fields.Selection(
        [("up", "Up"), ("down", "Down"), ("same", "Same")],
        compute="_compute_direction",
        store=True,
    )

    @api.depends("from_tier_id.rank", "to_tier_id.rank")
    def _compute_direction(self):
        for entry in self:
            before, after = entry.from_tier_id.rank, entry.to_tier_id.rank
            if not entry.from_tier_id or after > before:
                entry.direction = "up"
            elif after < before:
                entry.direction = "down"
            else:
                entry.direction = "same"

    def write(self, vals):
        # The audit trail is append-only: only the engine (superuser, with its
        # context key) may correct a row, e.g. when a partner merge moves it.
        if not (self.env.su and self.env.context.get(ENGINE_CONTEXT)):
            self.check_access("write")
            raise UserError(
                self.env._("The tier history is an audit trail: it cannot be changed.")
            )
        return super().write(vals)

    @api.ondelete(at_uninstall=False)
    def _unlink_except_audit_trail(self):
        raise UserError(
            self.env._("The tier history is an audit trail: it cannot be deleted.")
        )

    def _chatter_body(self):
        """The partner's note: the partner may be shared with other companies,
        whose users read its chatter.  It names the company and carries no
        confidential text (no override reason, no figures): those stay in this
        company's history row."""
        self.ensure_one()
        cause = dict(self._fields["cause"]._description_selection(self.env))[self.cause]
        if self.from_tier_id:
            text = self.env._(
                "%(company)s: customer tier changed from %(old)s to %(new)s "
                "(%(cause)s).",
                company=self.company_id.name,
                old=self.from_tier_id.name,
                new=self.to_tier_id.name,
                cause=cause,
            )
        else:
            text = self.env._(
                "%(company)s: customer tier set to %(new)s (%(cause)s).",
                company=self.company_id.name,
                new=self.to_tier_id.name,
                cause=cause,
            )
        return Markup("<p>%s</p>") % text

    def _post_chatter(self):
        """One chatter note per customer, posted in bulk."""
        langs = self.partner_id._customer_note_langs(self.company_id[:1])
        # In the customer's language (the jobs run as OdooBot).
        bodies = {
            entry.partner_id.id: entry.with_context(
                lang=langs[entry.partner_id.id]
            )._chatter_body()
            for entry in self
        }
        # _message_log_batch is mail's bulk logging API; it writes as sudo by
        # design, and we only log what the refresh itself decided.
        self.env["res.partner"].browse(list(bodies))._message_log_batch(bodies)
