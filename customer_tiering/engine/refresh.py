"""The evaluation step of the refresh: one entry point over a batch.

The models gather what a batch of customers needs into :class:`Customer`
values (``models/customer_profile_gather.py``), :func:`evaluate` decides
everything that follows from the rules, and the models store the
:class:`Outcome` values in bulk (``models/customer_profile_store.py``).  The
same three steps serve the nightly refresh, the sales-order hook and
``customer.profile.evaluate_as_of`` for any day.

What is decided here, per customer:

- the tier it qualifies for and the one it carries (upgrade at once,
  downgrade after the grace period, override), see :mod:`.tiering`;
- its health: score, band, trend, explanation, see :mod:`.health`;
- whether a health snapshot is due (or today's is rewritten) and whether a
  health-risk warning is due.
"""

from __future__ import annotations

import operator
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date

from . import health, tiering
from .health import Facts

# A snapshot that rewrites the day's snapshot and adds none (see
# health.updates_day_snapshot).
REWRITE = "rewrite"


@dataclass(frozen=True)
class Settings:
    """A company's rules, as the batch is evaluated against them."""

    rules: tuple[tiering.TierRule, ...]
    grace_days: int
    scorecard: tuple[health.Dimension, ...]
    healthy_min: float = 70.0
    watch_min: float = 40.0
    drop_points: float = 15.0


@dataclass(frozen=True, slots=True)
class State:
    """What the customer carried before this evaluation."""

    tier_id: int | None = None
    tier_rank: int | None = None  # rank of ``tier_id`` (off the ladder: archived)
    pending_since: date | None = None
    override_tier_id: int | None = None
    override_until: date | None = None
    strategic: bool = False
    health_score: float | None = None
    health_band: str | None = None
    health_warned_on: date | None = None
    # (date, score) health snapshots of the last weeks (oldest first).
    history: tuple[tuple[date, float], ...] = ()
    open_warning: bool = False  # an open health-risk activity


@dataclass(frozen=True, slots=True)
class Customer:
    """One customer of a batch, as gathered: no profile yet is ``None``."""

    partner_id: int
    profile_id: int | None
    state: State = field(default_factory=State)
    facts: Facts = field(default_factory=Facts)


@dataclass(slots=True)
class Outcome:
    """What the evaluation decided for one customer."""

    partner_id: int
    profile_id: int | None
    # Figures
    revenue: float
    revenue_prev: float
    growth: float | None  # percent, 2 decimals
    order_count: int
    order_count_prev: int
    lifetime_revenue: float
    last_order_date: date | None
    excluded_order_count: int
    # Tier
    from_tier_id: int | None  # the tier carried before
    computed_tier_id: int
    tier_id: int
    pending_since: date | None
    override_active: bool
    tier_cause: tiering.Cause | None  # the carried tier changed, and why
    override_ended: bool  # the override expired: its fields are cleared
    # Health
    health_score: float | None
    health_band: str | None
    health_trend: float | None
    health_data: dict  # the explanation, stored as JSON
    reasons: tuple[str, ...]  # the dimensions that cost the most points
    snapshot: str | None  # "band", "monthly", REWRITE or None
    warning: str | None  # "entered_at_risk", "dropped" or None
    warning_peak: float | None  # the score the "dropped" warning counts from
    band_changed: bool


def explanation(score_rows, missing, facts: Facts, reference, order=()) -> dict:
    """The stored explanation of a score, from :meth:`health.Scorer.rank`'s
    ``score_rows`` and ``missing``: contributions (most points lost first; raw
    values exact), missing dimensions (in the scorecard's ``order``), top
    reasons, the review's date, the trend's reference, and the facts an order
    does not change (the sales-order hook evaluates again from them and the
    order's source)."""
    if missing:
        missing = set(missing)
        missing = [key for key in order if key in missing]
    return {
        "ref": reference,
        "dims": [
            [key, raw, round(sub, 1), round(weight, 4), round(points, 2)]
            for __, key, raw, sub, weight, points in score_rows
        ],
        "missing": missing,
        "reasons": health.top_reason_keys(score_rows),
        "review_date": facts.review_date and facts.review_date.isoformat(),
        "facts": stored_facts(facts),
    }


# The facts kept in the explanation: all but the orders' and the review date
# (kept apart above).
_STORED_FACTS = tuple(
    name
    for name in Facts.__dataclass_fields__
    if name not in health.ORDER_FACTS and name != "review_date"
)


_stored_values = operator.attrgetter(*_STORED_FACTS)


def stored_facts(facts: Facts) -> dict:
    """The facts of ``facts`` that no order changes, as JSON values."""
    return dict(zip(_STORED_FACTS, _stored_values(facts), strict=True))


def facts_from_explanation(data: Mapping, **order_facts) -> Facts | None:
    """The facts of a stored explanation with fresh ``order_facts``; None when
    the explanation predates the stored facts."""
    stored = data.get("facts")
    if stored is None or set(stored) != set(_STORED_FACTS):
        return None
    review_date = data.get("review_date")
    return Facts(
        **stored,
        **order_facts,
        review_date=review_date and date.fromisoformat(review_date),
    )


def evaluate(
    settings: Settings, customers: Iterable[Customer], today: date
) -> list[Outcome]:
    """Evaluate a batch of customers of one company for ``today``.

    Raises :class:`tiering.LadderError` (ladder without catch-all...) and
    ``ValueError`` on inconsistent state: the caller isolates the customer
    that raises (see ``fault_isolation``).
    """
    ladder = tiering.Ladder(settings.rules)
    scorer = health.Scorer(settings.scorecard, checked=True)
    return [_evaluate(settings, ladder, scorer, c, today) for c in customers]


def _evaluate(settings, ladder, scorer, customer, today) -> Outcome:
    st, facts = customer.state, customer.facts
    # --- tier
    metrics = tiering.Metrics(
        revenue=facts.revenue,
        revenue_prev=facts.revenue_prev,
        orders=facts.orders,
        lifetime=facts.lifetime,
        strategic=st.strategic,
    )
    computed = ladder.best(metrics)
    decision = tiering.decide_tier(
        computed=computed,
        current_tier_id=st.tier_id,
        current_rank=ladder.ranks.get(st.tier_id, st.tier_rank) if st.tier_id else None,
        pending_since=st.pending_since,
        today=today,
        grace_days=settings.grace_days,
        override_tier_id=st.override_tier_id,
        override_until=st.override_until,
    )
    growth = metrics.growth
    # --- health
    score, score_rows, missing = scorer.rank(scorer.values(facts, today))
    band = health.band(score, settings.healthy_min, settings.watch_min)
    old_band = st.health_band or None
    past = st.history
    peak = health.recent_peak(
        past, today, previous=st.health_score if old_band else None
    )
    code = health.should_warn(
        old_band=old_band,
        new_band=band,
        old_score_30d=peak,
        new_score=score,
        drop_points=settings.drop_points,
    )
    if not health.warning_due(
        code, open_warning=st.open_warning, warned_on=st.health_warned_on, today=today
    ):
        code = None
    last_snapshot = max((when for when, __ in past), default=None)
    snapshot = health.snapshot_reason(
        last_snapshot=last_snapshot, today=today, old_band=old_band, new_band=band
    )
    if snapshot is None and health.updates_day_snapshot(
        last_snapshot=last_snapshot, today=today, new_band=band
    ):
        snapshot = REWRITE
    reference = health.reference_score(past, today)
    data = explanation(score_rows, missing, facts, reference, scorer.keys)
    return Outcome(
        partner_id=customer.partner_id,
        profile_id=customer.profile_id,
        revenue=metrics.revenue,
        revenue_prev=metrics.revenue_prev,
        growth=None if growth is None else round(growth, 2),
        order_count=metrics.orders,
        order_count_prev=facts.orders_prev,
        lifetime_revenue=metrics.lifetime,
        last_order_date=facts.last_order_date,
        excluded_order_count=facts.excluded_orders,
        from_tier_id=st.tier_id,
        computed_tier_id=computed.tier_id,
        tier_id=decision.tier_id,
        pending_since=decision.pending_since,
        override_active=decision.override_active,
        tier_cause=decision.cause,
        override_ended=bool(st.override_tier_id) and not decision.override_active,
        health_score=score,
        health_band=band,
        health_trend=health.trend(score, reference),
        health_data=data,
        reasons=tuple(data["reasons"]),
        snapshot=snapshot,
        warning=code,
        warning_peak=peak,
        band_changed=band != old_band,
    )
