# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import logging
from collections import defaultdict

from odoo import api, fields, models, tools
from odoo.exceptions import UserError, ValidationError

from ..engine import health

_logger = logging.getLogger(__name__)

# The selection comes from the engine's registry: Odoo exports its labels
# from the field (ir.model.fields.selection), so they stay translatable.
DIMENSION_KEYS = [(spec.key, spec.label) for spec in health.DIMENSIONS]


class CustomerHealthDimension(models.Model):
    """One line of a company's health scorecard.

    Every company has one line per dimension of the engine's registry
    (``health.DIMENSIONS``): a new company gets the shipped defaults, an
    existing scorecard gets a newly registered dimension switched off (see
    ``_add_registered_dimensions``); managers tune weights and thresholds or
    switch lines off, but cannot delete them.
    """

    _name = "customer.health.dimension"
    _description = "Customer Health Dimension"
    _order = "company_id, sequence, id"
    _rec_name = "key"

    company_id = fields.Many2one(
        "res.company",
        required=True,
        index=True,
        ondelete="cascade",
        default=lambda self: self.env.company,
    )
    sequence = fields.Integer(default=10)
    key = fields.Selection(DIMENSION_KEYS, string="Dimension", required=True)
    enabled = fields.Boolean(default=True)
    weight = fields.Float(
        default=10.0,
        help="Relative weight; the weights of the dimensions a customer has data "
        "for are scaled to sum to 100 %.",
    )
    good = fields.Float(
        string="Full Score At",
        help="Raw value at (or beyond) which the dimension scores 100.",
    )
    bad = fields.Float(
        string="Zero Score At",
        help="Raw value at (or beyond) which the dimension scores 0; linear between.",
    )
    unit = fields.Char(compute="_compute_unit")
    higher_is_better = fields.Boolean(compute="_compute_unit")

    _sql_constraints = [
        (
            "company_key_uniq",
            "UNIQUE(company_id, key)",
            "A scorecard has one line per dimension.",
        ),
    ]

    @api.depends("key")
    def _compute_unit(self):
        for line in self:
            spec = health.REGISTRY.get(line.key)
            # The unit is marked for translation in the engine (see health._lt).
            line.unit = spec and self.env._(spec.unit)
            line.higher_is_better = spec.higher_is_better if spec else True

    def _to_dimension(self):
        self.ensure_one()
        return health.Dimension(
            key=self.key,
            weight=self.weight,
            good=self.good,
            bad=self.bad,
            enabled=self.enabled,
            higher_is_better=health.DIRECTIONS.get(self.key),
        )

    @api.model
    def _ensure_scorecards(self, companies):
        """Give ``companies`` a complete scorecard: the shipped defaults for a
        company without one, the missing registered dimensions switched off
        for one that has a scorecard (its weights are its manager's)."""
        # sudo: the scorecard is configuration every company must have; it is
        # completed here on behalf of whoever triggers the first evaluation.
        Dimension = self.sudo().with_context(active_test=False)
        scored = set(
            Dimension.search([("company_id", "in", companies.ids)]).company_id.ids
        )
        vals = [
            {
                "company_id": company.id,
                "sequence": sequence,
                "key": dim.key,
                "enabled": dim.enabled,
                "weight": dim.weight,
                "good": dim.good,
                "bad": dim.bad,
            }
            for company in companies
            if company.id not in scored
            for sequence, dim in enumerate(health.DEFAULT_SCORECARD, start=1)
        ]
        if vals:
            Dimension.with_context(customer_tiering_no_refresh=True).create(vals)
        self._add_registered_dimensions(companies.filtered(lambda c: c.id in scored))

    @api.model
    def _add_registered_dimensions(self, companies=None):
        """Add to every scorecard (of ``companies``, default all companies that
        have one) each registered dimension it lacks: switched off, weight 0,
        the shipped thresholds, so that no score moves until a manager turns
        it on.  Each addition is logged at INFO (the upgrade log); the
        scorecard has no chatter (``customer.health.dimension`` is not a
        mail.thread, nor is res.company), so the log is the note.

        For the migrations that register a dimension (18.0.1.2.0, and any
        later one): idempotent.  Returns the lines created."""
        # sudo: configuration completed by an upgrade or for a company's
        # first evaluation, whoever triggers it.
        Dimension = self.sudo().with_context(active_test=False)
        domain = [] if companies is None else [("company_id", "in", companies.ids)]
        keys = defaultdict(set)
        for line in Dimension.search(domain):
            keys[line.company_id].add(line.key)
        vals = [
            {
                "company_id": company.id,
                "sequence": sequence,
                "key": spec.key,
                "enabled": False,
                "weight": 0.0,
                "good": spec.good,
                "bad": spec.bad,
            }
            for company, present in keys.items()
            for sequence, spec in enumerate(health.DIMENSIONS, start=1)
            if spec.key not in present
        ]
        lines = Dimension.with_context(customer_tiering_no_refresh=True).create(vals)
        for line in lines:
            _logger.info(
                "customer_tiering: health dimension %r added to the scorecard of "
                "%s (company %s), switched off with weight 0: a manager may turn "
                "it on in the health scorecard.",
                line.key,
                line.company_id.name,
                line.company_id.id,
            )
        return lines

    @api.model
    def _get_scorecard(self, company):
        """The engine's view of ``company``'s scorecard, or a UserError saying
        why customers cannot be scored with it."""
        dimensions, problems = self._scorecard_dimensions(company.id)
        if not dimensions:
            self._ensure_scorecards(company)
            dimensions, problems = self._scorecard_dimensions(company.id)
        if problems:
            raise UserError(self._problem_message(problems[0], company))
        return list(dimensions)

    @api.model
    @tools.ormcache("company_id")
    def _scorecard_dimensions(self, company_id):
        """The engine's dimensions of a company's scorecard and their problems,
        cached: every confirmed order scores its customer.  Lines clear the
        cache when they change."""
        # sudo: a salesperson's action (an order, a review) may re-score a
        # customer; the scorecard is readable by them anyway.
        lines = self.sudo().search([("company_id", "=", company_id)])
        dimensions = tuple(line._to_dimension() for line in lines)
        return dimensions, tuple(health.scorecard_problems(dimensions))

    def _problem_message(self, code, company):
        messages = {
            "no_active_dimension": self.env._(
                "The health scorecard of %(company)s needs at least one enabled "
                "dimension with a positive weight."
            ),
            "negative_weight": self.env._(
                "Health dimension weights cannot be negative (%(company)s)."
            ),
            "equal_thresholds": self.env._(
                "A health dimension of %(company)s scores 100 and 0 at the same "
                "value: set two different thresholds."
            ),
            "reversed_thresholds": self.env._(
                "The thresholds of a health dimension of %(company)s are in the "
                "wrong order: where lower is better (days, overdue share...) the "
                "full-score value must be below the zero-score value, and above "
                "it where higher is better."
            ),
            "duplicate_key": self.env._(
                "A health scorecard of %(company)s lists a dimension twice."
            ),
        }
        return messages[code] % {"company": company.name}

    @api.constrains("weight", "good", "bad", "enabled", "key", "company_id")
    def _check_scorecard(self):
        for company in self.company_id:
            lines = self.search([("company_id", "=", company.id)])
            problems = health.scorecard_problems(x._to_dimension() for x in lines)
            if problems:
                raise ValidationError(self._problem_message(problems[0], company))

    @api.model_create_multi
    def create(self, vals_list):
        lines = super().create(vals_list)
        self.env.registry.clear_cache()  # _scorecard_dimensions
        lines._request_refresh()
        return lines

    def write(self, vals):
        res = super().write(vals)
        self.env.registry.clear_cache()  # _scorecard_dimensions
        if set(vals) & {"weight", "good", "bad", "enabled", "key"}:
            self._request_refresh()
        return res

    def unlink(self):
        res = super().unlink()
        self.env.registry.clear_cache()  # _scorecard_dimensions
        return res

    @api.ondelete(at_uninstall=False)
    def _unlink_never(self):
        raise UserError(
            self.env._(
                "Health dimensions cannot be deleted: switch the dimension off instead."
            )
        )

    def _request_refresh(self):
        if self and not self.env.context.get("customer_tiering_no_refresh"):
            self.env["customer.profile"]._request_full_refresh(
                reason="config", companies=self.company_id
            )
