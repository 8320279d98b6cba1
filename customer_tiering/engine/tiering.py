"""Tier ladder evaluation, ladder validation and downgrade hysteresis.

All thresholds are inclusive (``>=``). A business rule phrased as "more than
10M" is expressed with the next representable amount, e.g. ``10_000_000.01``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import NamedTuple


class LadderError(ValueError):
    """The ladder cannot classify a customer; ``code`` tells why."""

    def __init__(self, code: str, message: str | None = None) -> None:
        super().__init__(message or code)
        self.code = code


@dataclass(frozen=True)
class TierRule:
    """One rung of the ladder: the criteria a customer must meet to get a tier."""

    tier_id: int
    rank: int  # higher rank = better tier
    min_revenue: float | None = None  # revenue in the trailing window
    min_growth: float | None = None  # growth percent, window vs previous window
    min_orders: int | None = None  # orders in the frequency window
    min_lifetime: float | None = None  # lifetime revenue
    require_strategic: bool = False

    @property
    def is_catch_all(self) -> bool:
        """True when no criterion is set: the rule matches every customer."""
        return (
            self.min_revenue is None
            and self.min_growth is None
            and self.min_orders is None
            and self.min_lifetime is None
            and not self.require_strategic
        )


class Metrics(NamedTuple):
    """Measured figures of one customer (a named tuple: a batch builds one
    per customer)."""

    revenue: float = 0.0
    revenue_prev: float = 0.0
    orders: int = 0
    lifetime: float = 0.0
    strategic: bool = False

    @property
    def growth(self) -> float | None:
        """Growth percent of ``revenue`` over ``revenue_prev`` (None if undefined)."""
        return growth_pct(self.revenue, self.revenue_prev)


def growth_pct(current: float, previous: float) -> float | None:
    """Return ``(current - previous) / previous * 100``; None when previous <= 0."""
    if previous <= 0:
        return None
    return (current - previous) / previous * 100


def _growth_holds(min_growth: float, metrics: Metrics) -> bool:
    """Growth criterion; revenue from nothing counts as unbounded growth."""
    growth = metrics.growth
    if growth is None:
        return metrics.revenue > 0
    return growth >= min_growth


# The figure each threshold criterion compares with.
_CRITERIA = {"revenue": "revenue", "orders": "orders", "lifetime": "lifetime"}


def criterion_holds(key: str, threshold: float, metrics: Metrics) -> bool:
    """Whether one threshold criterion of a tier holds for ``metrics``:
    ``key`` is "revenue", "growth", "orders" or "lifetime"."""
    if key == "growth":
        return _growth_holds(threshold, metrics)
    return getattr(metrics, _CRITERIA[key]) >= threshold


def rule_matches(rule: TierRule, metrics: Metrics) -> bool:
    """True when every criterion set on ``rule`` holds for ``metrics``."""
    if rule.require_strategic and not metrics.strategic:
        return False
    # Each criterion through criterion_holds, cheapest first; a ladder
    # evaluates thousands of customers, so no generator here.
    for key, threshold in (
        ("revenue", rule.min_revenue),
        ("orders", rule.min_orders),
        ("lifetime", rule.min_lifetime),
        ("growth", rule.min_growth),
    ):
        if threshold is not None and not criterion_holds(key, threshold, metrics):
            return False
    return True


def _best_key(rule: TierRule) -> tuple[int, int]:
    """Sort key: highest rank first, then lowest tier id."""
    return (-rule.rank, rule.tier_id)


class Ladder:
    """A ladder prepared for many customers: its rules best first, and the
    rank of each tier.  :func:`evaluate_tier` is ``Ladder(rules).best``."""

    __slots__ = ("ranks", "rules")

    def __init__(self, rules: Iterable[TierRule]) -> None:
        self.rules = tuple(sorted(rules, key=_best_key))
        if not self.rules:
            raise LadderError("empty_ladder", "the ladder has no tier")
        self.ranks = {rule.tier_id: rule.rank for rule in self.rules}

    def best(self, metrics: Metrics) -> TierRule:
        """The best matching rule (highest rank, then lowest tier id)."""
        for rule in self.rules:
            if rule_matches(rule, metrics):
                return rule
        raise LadderError("no_match", "no tier matches (ladder without catch-all?)")


def evaluate_tier(rules: Iterable[TierRule], metrics: Metrics) -> TierRule:
    """Return the best matching rule (highest rank, then lowest tier id).

    Raises ``LadderError`` with code ``empty_ladder`` or ``no_match``.
    """
    return Ladder(rules).best(metrics)


def ladder_problems(rules: Iterable[TierRule]) -> list[str]:
    """Return the problem codes of a ladder, empty when it is valid."""
    rules = list(rules)
    problems: list[str] = []
    catch_all = sum(rule.is_catch_all for rule in rules)
    if catch_all == 0:
        problems.append("no_catch_all")
    elif catch_all > 1:
        problems.append("several_catch_all")
    if any(
        value is not None and value < 0
        for rule in rules
        for value in (rule.min_revenue, rule.min_orders, rule.min_lifetime)
    ):
        problems.append("negative_threshold")
    if any(rule.min_growth is not None and rule.min_growth < -100 for rule in rules):
        problems.append("growth_below_minus_100")
    if len({rule.rank for rule in rules}) < len(rules):
        problems.append("duplicate_rank")
    return problems


class Cause(StrEnum):
    """Why the carried tier changed."""

    INITIAL = "initial"
    COMPUTED_UP = "computed_up"
    COMPUTED_DOWN = "computed_down"
    OVERRIDE_SET = "override_set"
    OVERRIDE_ENDED = "override_ended"
    CONFIG = "config"


class TierDecision(NamedTuple):
    """Outcome of :func:`decide_tier`."""

    tier_id: int | None  # the tier the customer now carries
    pending_since: date | None  # since when a downgrade is pending, else None
    cause: Cause | None  # None when the carried tier did not change
    override_active: bool


def _change(
    new_tier_id: int, current_tier_id: int | None, cause: Cause
) -> Cause | None:
    """``cause`` when the carried tier changes, else None."""
    return cause if new_tier_id != current_tier_id else None


def decide_tier(
    *,
    computed: TierRule,
    current_tier_id: int | None,
    current_rank: int | None,
    pending_since: date | None,
    today: date,
    grace_days: int,
    override_tier_id: int | None = None,
    override_rank: int | None = None,
    override_until: date | None = None,
) -> TierDecision:
    """Decide the tier a customer carries today.

    Upgrades apply at once; downgrades wait ``grace_days`` days after the
    computed tier first fell below the carried one (0 = immediately). An active
    manual override (``override_until`` inclusive) wins; once expired the
    computed tier applies immediately, without grace. ``override_rank`` is
    accepted for symmetry with the caller's data and does not affect the result.
    """
    del override_rank  # the override wins whatever its rank
    if grace_days < 0:
        raise ValueError("grace_days must be >= 0")
    if override_tier_id is not None:
        if override_until is None or today <= override_until:
            cause = _change(override_tier_id, current_tier_id, Cause.OVERRIDE_SET)
            return TierDecision(override_tier_id, None, cause, True)
        cause = _change(computed.tier_id, current_tier_id, Cause.OVERRIDE_ENDED)
        return TierDecision(computed.tier_id, None, cause, False)
    if current_tier_id is None:
        return TierDecision(computed.tier_id, None, Cause.INITIAL, False)
    if computed.tier_id == current_tier_id or computed.rank == current_rank:
        return TierDecision(current_tier_id, None, None, False)
    if current_rank is None:
        raise ValueError("current_rank is required when current_tier_id is set")
    if computed.rank > current_rank:
        return TierDecision(computed.tier_id, None, Cause.COMPUTED_UP, False)
    since = pending_since or today
    if (today - since).days >= grace_days:
        return TierDecision(computed.tier_id, None, Cause.COMPUTED_DOWN, False)
    return TierDecision(current_tier_id, since, None, False)
