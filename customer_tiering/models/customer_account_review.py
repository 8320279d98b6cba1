# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import api, fields, models
from odoo.exceptions import AccessError, ValidationError
from odoo.tools import format_date

from ..engine import health
from .commercial_partner import commercial_partner_vals
from odoo.addons.base.models.ir_model import MODULE_UNINSTALL_FLAG

SCORES = [
    ("1", "1 - Very poor"),
    ("2", "2 - Poor"),
    ("3", "3 - Fair"),
    ("4", "4 - Good"),
    ("5", "5 - Excellent"),
]
# Changing one of these changes the customer's health.
HEALTH_FIELDS = {"partner_id", "company_id", "date", *health.REVIEW_KEYS}


class CustomerAccountReview(models.Model):
    """The account manager's judgement of a customer, at a periodic review.

    The latest review of a customer (per company) feeds the judgement
    dimensions of its health score until it is older than the company's
    review age limit.
    """

    _name = "customer.account.review"
    _description = "Customer Account Review"
    _order = "date desc, id desc"
    _rec_name = "partner_id"
    _check_company_auto = True

    partner_id = fields.Many2one(
        "res.partner",
        string="Customer",
        required=True,
        index=True,
        ondelete="cascade",
        domain="['|', ('is_company', '=', True), ('parent_id', '=', False)]",
    )
    company_id = fields.Many2one(
        "res.company",
        required=True,
        index=True,
        default=lambda self: self.env.company,
    )
    date = fields.Date(required=True, default=fields.Date.context_today, index=True)
    user_id = fields.Many2one(
        "res.users",
        string="Author",
        required=True,
        default=lambda self: self.env.user,
        index=True,
    )
    satisfaction = fields.Selection(SCORES, help="How satisfied the customer is.")
    needs_met = fields.Selection(
        SCORES, help="How well our offer meets the customer's needs."
    )
    strategic_alignment = fields.Selection(
        SCORES, help="How well the customer's strategy and ours fit."
    )
    innovation = fields.Selection(
        SCORES,
        string="Innovation Participation",
        help="How much the customer takes part in pilots, new products, co-design.",
    )
    relationship = fields.Selection(
        SCORES,
        string="Relationship Closeness",
        help="Access to decision makers, trust, frequency of contact.",
    )
    notes = fields.Html(
        help="Needs and pain points, decision chain, competitors, next steps."
    )

    @api.depends("partner_id", "date", "user_id")
    def _compute_display_name(self):
        for review in self:
            review.display_name = self.env._(
                "%(customer)s, %(date)s by %(author)s",
                customer=review.partner_id.display_name,
                date=format_date(self.env, review.date),
                author=review.user_id.name,
            )

    @api.constrains("date")
    def _check_date(self):
        today = fields.Date.context_today(self)
        if any(review.date > today for review in self):
            raise ValidationError(
                self.env._("An account review cannot be dated in the future.")
            )

    @api.constrains("partner_id", *health.REVIEW_KEYS)
    def _check_scored(self):
        if any(not any(review[key] for key in health.REVIEW_KEYS) for review in self):
            raise ValidationError(
                self.env._("An account review needs at least one score.")
            )

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            self._check_author(vals)
        reviews = super().create(
            [commercial_partner_vals(self.env, v) for v in vals_list]
        )
        self._refresh_health(reviews._health_targets())
        return reviews

    def write(self, vals):
        self._check_author(vals)
        before = self._health_targets() if HEALTH_FIELDS & set(vals) else set()
        res = super().write(commercial_partner_vals(self.env, vals))
        if before:
            self._refresh_health(before | self._health_targets())
        return res

    def unlink(self):
        targets = self._health_targets()
        res = super().unlink()
        if not self.env.context.get(MODULE_UNINSTALL_FLAG):
            self._refresh_health(targets)
        return res

    @api.model
    def _check_author(self, vals):
        """The author of a review is whoever records it; only Customer
        Tiering managers record or reassign reviews in another's name (a
        review moves the customer's health score)."""
        author = vals.get("user_id")
        if (
            "user_id" in vals
            and author != self.env.uid
            and not self.env.su
            and not self.env.user.has_group(
                "customer_tiering.group_customer_tiering_manager"
            )
        ):
            raise AccessError(
                self.env._(
                    "You can only record account reviews in your own name; "
                    "a Customer Tiering manager can record one for another "
                    "author."
                )
            )

    def _health_targets(self):
        return {(review.company_id, review.partner_id) for review in self}

    @api.model
    def _refresh_health(self, targets):
        """Re-score the reviewed customers at once (tiers and health)."""
        for company, partner in targets:
            self.env["sale.order"]._customer_tiering_refresh_for(company, partner)
