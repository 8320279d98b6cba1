# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from collections import defaultdict

from odoo import api, fields, models, tools
from odoo.exceptions import UserError, ValidationError
from odoo.tools import SQL

from ..engine import tiering
from .sql_arrays import array_literal

CRITERIA_FIELDS = (
    "use_min_revenue",
    "min_revenue",
    "use_min_growth",
    "min_growth",
    "use_min_orders",
    "min_orders",
    "use_min_lifetime",
    "min_lifetime",
    "require_strategic",
)


class CustomerTier(models.Model):
    """One rung of the customer ladder (S strategic, A key, ...).

    A customer gets the highest-ranked tier whose every set criterion holds.
    A company uses its own tiers when it has some, the shared ones (without
    company) otherwise; each ladder has exactly one catch-all bottom tier.
    """

    _name = "customer.tier"
    _description = "Customer Tier"
    _order = "rank desc, id"

    name = fields.Char(required=True, translate=True)
    code = fields.Char(
        required=True,
        size=8,
        help="Short code shown on badges, e.g. S, A, B, C.",
    )
    rank = fields.Integer(
        required=True,
        default=10,
        help="Higher ranks are better tiers; the catch-all tier has the lowest rank.",
    )
    color = fields.Integer(string="Color Index")
    active = fields.Boolean(default=True)
    company_id = fields.Many2one(
        "res.company",
        index=True,
        help="Leave empty to share this tier between companies that have no "
        "ladder of their own.",
    )
    currency_id = fields.Many2one("res.currency", compute="_compute_currency_id")
    description = fields.Html(
        string="Service Promise",
        translate=True,
        help="What customers of this tier are promised: team, visit rhythm, "
        "response and resolution times.",
    )
    use_min_revenue = fields.Boolean(string="Revenue Criterion")
    min_revenue = fields.Monetary(
        string="Minimum Revenue",
        currency_field="currency_id",
        help="Revenue over the trailing window (Settings), in company currency.",
    )
    use_min_growth = fields.Boolean(string="Growth Criterion")
    min_growth = fields.Float(
        string="Minimum Growth (%)",
        help="Revenue growth of the window against the window before, in percent.",
    )
    use_min_orders = fields.Boolean(string="Order Frequency Criterion")
    min_orders = fields.Integer(
        string="Minimum Orders",
        help="Orders in the order-frequency window (Settings).",
    )
    use_min_lifetime = fields.Boolean(string="Lifetime Value Criterion")
    min_lifetime = fields.Monetary(
        string="Minimum Lifetime Revenue", currency_field="currency_id"
    )
    require_strategic = fields.Boolean(
        string="Strategic Account Required",
        help="Only customers marked as strategic accounts qualify.",
    )
    is_catch_all = fields.Boolean(
        compute="_compute_is_catch_all",
        store=True,
        help="A tier without criteria: every customer qualifies.",
    )
    response_days = fields.Integer(
        string="Days to Respond",
        default=7,
        help="Deadline, in days, of the follow-up created by a health warning.",
    )
    notify_team_leader = fields.Boolean(
        help="Health-risk follow-ups of this tier's customers also notify the "
        "sales team leader.",
    )
    customer_count = fields.Integer(compute="_compute_customer_count")

    _sql_constraints = [
        (
            "min_orders_positive",
            "CHECK(min_orders >= 0)",
            "The minimum number of orders cannot be negative.",
        ),
        (
            "response_days_positive",
            "CHECK(response_days >= 0)",
            "The days to respond cannot be negative.",
        ),
    ]

    @api.depends("company_id")
    def _compute_currency_id(self):
        for tier in self:
            tier.currency_id = (tier.company_id or self.env.company).currency_id

    @api.depends(*CRITERIA_FIELDS)
    def _compute_is_catch_all(self):
        for tier in self:
            tier.is_catch_all = tier._to_rule().is_catch_all

    def _compute_customer_count(self):
        groups = self.env["customer.profile"]._read_group(
            [("tier_id", "in", self.ids)], ["tier_id"], ["__count"]
        )
        counts = {tier.id: count for tier, count in groups}
        for tier in self:
            tier.customer_count = counts.get(tier.id, 0)

    def _to_rule(self):
        """The engine's view of this tier (plain data, no ORM)."""
        self.ensure_one()
        return tiering.TierRule(
            tier_id=self.id or 0,
            rank=self.rank,
            min_revenue=self.min_revenue if self.use_min_revenue else None,
            min_growth=self.min_growth if self.use_min_growth else None,
            min_orders=self.min_orders if self.use_min_orders else None,
            min_lifetime=self.min_lifetime if self.use_min_lifetime else None,
            require_strategic=self.require_strategic,
        )

    @api.model
    def _get_ladder(self, company):
        """Active tiers that make up ``company``'s ladder."""
        tiers = self.search([("company_id", "in", [company.id, False])])
        own = tiers.filtered(lambda t: t.company_id == company)
        return own or tiers.filtered(lambda t: not t.company_id)

    @api.model
    @tools.ormcache("company_id")
    def _ladder_rules(self, company_id):
        """The engine rules of the company's ladder and their problems, cached:
        every confirmed order evaluates its customer against them.  Tiers
        clear the cache when they change."""
        # sudo: the ladder is configuration, the same for every user.
        tiers = self.sudo()._get_ladder(self.env["res.company"].browse(company_id))
        rules = tuple(tier._to_rule() for tier in tiers)
        return rules, tuple(tiering.ladder_problems(rules))

    @api.model
    def _check_usable_ladder(self, company):
        """The engine rules of ``company``'s ladder, or a UserError saying why
        customers cannot be tiered with it."""
        rules, problems = self._ladder_rules(company.id)
        if not rules:
            raise UserError(
                self.env._(
                    "Company %(company)s has no customer tiers: create at least "
                    "a catch-all tier in Sales > Configuration > Customer Tiers.",
                    company=company.name,
                )
            )
        if "no_catch_all" in problems:
            raise UserError(
                self.env._(
                    "The customer ladder of %(company)s has no catch-all tier (a "
                    "tier without criteria), so some customers would get no tier.",
                    company=company.name,
                )
            )
        return list(rules)

    def _ladder_scopes(self):
        """Companies (or False for the shared ladder) touched by these tiers."""
        return set(self.with_context(active_test=False).mapped("company_id.id")) | (
            {False} if any(not t.company_id for t in self) else set()
        )

    @api.constrains(*CRITERIA_FIELDS, "rank", "code", "company_id", "active")
    def _check_ladder(self):
        messages = {
            "several_catch_all": self.env._(
                "A ladder can have only one catch-all tier (a tier without "
                "criteria). Set a criterion on one of: %(tiers)s."
            ),
            "negative_threshold": self.env._(
                "Tier thresholds cannot be negative (tier %(tiers)s)."
            ),
            "growth_below_minus_100": self.env._(
                "A minimum growth below -100 %% is impossible (tier %(tiers)s)."
            ),
            "duplicate_rank": self.env._(
                "Two tiers of the same ladder cannot share a rank: %(tiers)s."
            ),
            "catch_all_not_bottom": self.env._(
                "The catch-all tier must be the bottom of its ladder: give "
                "%(tiers)s the lowest rank."
            ),
        }
        by_scope = defaultdict(lambda: self.browse())
        for tier in self.search(
            [("company_id", "in", [c or False for c in self._ladder_scopes()])]
        ):
            by_scope[tier.company_id.id] |= tier
        for tiers in by_scope.values():
            codes = tiers.mapped("code")
            duplicates = {c for c in codes if codes.count(c) > 1}
            if duplicates:
                raise ValidationError(
                    self.env._(
                        "Tier codes must be unique in a ladder: %(codes)s.",
                        codes=", ".join(sorted(duplicates)),
                    )
                )
            rules = {tier.id: tier._to_rule() for tier in tiers}
            for problem in tiering.ladder_problems(rules.values()):
                if problem == "no_catch_all":
                    # Checked when the ladder is used: it is built tier by tier.
                    continue
                culprits = tiers._problem_tiers(problem, rules)
                raise ValidationError(
                    messages[problem] % {"tiers": ", ".join(culprits.mapped("name"))}
                )
            catch_all = tiers.filtered("is_catch_all")
            if catch_all and catch_all.rank > min(tiers.mapped("rank")):
                raise ValidationError(
                    messages["catch_all_not_bottom"] % {"tiers": catch_all.name}
                )

    def _problem_tiers(self, problem, rules):
        if problem == "several_catch_all":
            return self.filtered("is_catch_all")
        if problem == "negative_threshold":
            return self.filtered(
                lambda t: min(t.min_revenue, t.min_lifetime, t.min_orders) < 0
            )
        if problem == "growth_below_minus_100":
            return self.filtered(lambda t: t.use_min_growth and t.min_growth < -100)
        ranks = self.mapped("rank")
        return self.filtered(lambda t: ranks.count(t.rank) > 1)

    @api.model_create_multi
    def create(self, vals_list):
        tiers = super().create(vals_list)
        self.env.registry.clear_cache()  # _ladder_rules
        self.env["customer.profile"]._request_full_refresh(reason="config")
        return tiers

    def write(self, vals):
        if "active" in vals and not vals["active"]:
            self._check_catch_all_kept()
        res = super().write(vals)
        if set(vals) & {*CRITERIA_FIELDS, "rank", "active", "company_id"}:
            self.env.registry.clear_cache()  # _ladder_rules
            self.env["customer.profile"]._request_full_refresh(reason="config")
        return res

    def unlink(self):
        res = super().unlink()
        self.env.registry.clear_cache()  # _ladder_rules
        return res

    @api.ondelete(at_uninstall=False)
    def _unlink_except_used(self):
        """A tier that any record refers to stays (archived): deleting it would
        empty the history's from/to (a downgrade would read as an "up"), the
        snapshots, touches, requests and plans that name it."""
        used = self._used_tier_ids()
        if used:
            raise UserError(
                self.env._(
                    "Tier %(tiers)s is used by customers, their tier history, "
                    "health snapshots, touches, tier review requests or "
                    "maintenance plans: archive it instead of deleting it, so "
                    "that their history stays readable.",
                    tiers=", ".join(self.browse(used).mapped("name")),
                )
            )
        self._check_catch_all_kept()

    def _used_tier_ids(self):
        """Ids of these tiers that a record of this addon refers to, in one
        SQL (whatever companies the user may read)."""
        self.env.flush_all()
        references = (
            ("customer_profile", "tier_id"),
            ("customer_profile", "computed_tier_id"),
            ("customer_profile", "override_tier_id"),
            ("customer_tier_history", "from_tier_id"),
            ("customer_tier_history", "to_tier_id"),
            ("customer_health_snapshot", "tier_id"),
            ("customer_touch", "tier_id"),
            ("customer_tier_request", "current_tier_id"),
            ("customer_tier_request", "requested_tier_id"),
            ("customer_maintenance_plan_customer_tier_rel", "customer_tier_id"),
        )
        self.env.cr.execute(
            SQL(
                "SELECT t.id FROM customer_tier t "
                "WHERE t.id = ANY(%s::int4[]) AND (%s)",
                array_literal(self.ids),
                SQL(" OR ").join(
                    SQL(
                        "EXISTS (SELECT 1 FROM %s WHERE %s = t.id)",
                        SQL.identifier(table),
                        SQL.identifier(column),
                    )
                    for table, column in references
                ),
            )
        )
        return [row[0] for row in self.env.cr.fetchall()]

    def _check_catch_all_kept(self):
        """Refuse to remove (archive or delete) the catch-all tier of a ladder
        that customers are tiered with while other tiers of it stay: the
        refresh of their company would stop (see ``_check_usable_ladder``).
        Removing a whole ladder (to replace it) is allowed."""
        catch_all = self.filtered(lambda t: t.active and t.is_catch_all)
        if not catch_all:
            return
        # sudo: the companies on this ladder and their customers, whatever
        # the current user may read.
        Tier = self.sudo()
        Profile = self.env["customer.profile"].sudo()
        for company in self.env["res.company"].sudo().search([]):
            ladder = Tier._get_ladder(company)
            removed = ladder & catch_all
            remaining = ladder - self
            if (
                removed
                and remaining
                and not remaining.filtered("is_catch_all")
                and Profile.search_count([("company_id", "=", company.id)], limit=1)
            ):
                raise UserError(
                    self.env._(
                        "Tier %(tier)s is the catch-all tier of the ladder that "
                        "the customers of %(company)s are tiered with: without "
                        "it some customers would get no tier. Keep it, or make "
                        "another tier the catch-all (the bottom tier, without "
                        "criteria) first.",
                        tier=removed[:1].name,
                        company=company.name,
                    )
                )

    def action_view_customers(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "customer_tiering.action_customer_profile"
        )
        action["domain"] = [("tier_id", "=", self.id)]
        action["context"] = {}
        return action
