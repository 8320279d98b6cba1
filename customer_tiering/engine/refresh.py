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
from dataclasses import dataclass
from datetime import date
from typing import NamedTuple

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


class State(NamedTuple):
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


class Customer(NamedTuple):
    """One customer of a batch, as gathered: no profile yet is ``None``."""

    partner_id: int
    profile_id: int | None
    state: State = State()
    facts: Facts = Facts()


class Outcome(NamedTuple):
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


def explanation(raw, reasons, facts: Facts, reference) -> dict:
    """The stored explanation of a score: the ``raw`` value of each dimension
    of the scorecard, None for those without data (exact: the form's
    breakdown ranks them again against the scorecard), the top ``reasons``,
    the review's date, the trend's reference, and the facts an order does
    not change (the sales-order hook evaluates again from them and the
    order's source)."""
    return {
        "ref": reference,
        "raw": raw,
        "reasons": reasons,
        "review_date": facts.review_date and facts.review_date.isoformat(),
        "facts": stored_facts(facts),
    }


# The facts kept in the explanation: all but the orders' and the review date
# (kept apart above).
_STORED_FACTS = tuple(
    name
    for name in Facts._fields
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


def raw_of(data: Mapping) -> dict:
    """``{dimension: raw value}`` of the dimensions that had data, in a
    stored explanation (also in those stored before 18.0.1.3.0, which kept a
    row per dimension)."""
    if "raw" in data:
        return {key: value for key, value in data["raw"].items() if value is not None}
    return {row[0]: row[1] for row in data.get("dims", ())}


def missing_of(data: Mapping) -> list[str]:
    """The dimensions of the scorecard that had no data, in a stored
    explanation (in no particular order once stored: jsonb keeps no key
    order; the profile orders them by its scorecard)."""
    if "raw" in data:
        return [key for key, value in data["raw"].items() if value is None]
    return list(data.get("missing", ()))


def evaluate(
    settings: Settings, customers: Iterable[Customer], today: date
) -> list[Outcome]:
    """Evaluate a batch of customers of one company for ``today``.

    Raises :class:`tiering.LadderError` (ladder without catch-all...) and
    ``ValueError`` on inconsistent state: the caller isolates the customer
    that raises (see ``fault_isolation``).
    """
    customers = list(customers)
    ladder = tiering.Ladder(settings.rules)
    scorer = health.Scorer(settings.scorecard, checked=True)
    health.check_band_thresholds(settings.healthy_min, settings.watch_min)
    # The health scores of the whole batch, dimension by dimension.
    columns = scorer.columns([c.facts for c in customers], today)
    ranking = scorer.rank(columns)
    if columns:
        values, losses = zip(*columns, strict=True), zip(*ranking.losses, strict=True)
    else:
        values = losses = [()] * len(customers)
    return [
        _evaluate(settings, ladder, c, (scorer.keys, score, value, loss), today)
        for c, score, value, loss in zip(
            customers, ranking.scores, values, losses, strict=True
        )
    ]


def _evaluate(settings, ladder, customer, scored, today) -> Outcome:
    """One customer of :func:`evaluate`; ``scored``: the scorecard's keys,
    the customer's health score, its raw value and points lost per key."""
    st, facts = customer.state, customer.facts
    # --- tier
    metrics = tiering.Metrics(
        facts.revenue, facts.revenue_prev, facts.orders, facts.lifetime, st.strategic
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
    keys, score, values, losses = scored
    # A dimension without data loses no point: never among the reasons
    # (which cost at least top_reason_keys' min_lost > 0 points).
    reasons = health.top_reason_keys(losses, keys)
    band = health.band_of(score, settings.healthy_min, settings.watch_min)
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
    data = explanation(dict(zip(keys, values, strict=True)), reasons, facts, reference)
    # Positional, in the order of Outcome's fields (a batch builds thousands).
    return Outcome(
        customer.partner_id,
        customer.profile_id,
        metrics.revenue,
        metrics.revenue_prev,
        None if growth is None else round(growth, 2),
        metrics.orders,
        facts.orders_prev,
        metrics.lifetime,
        facts.last_order_date,
        facts.excluded_orders,
        st.tier_id,
        computed.tier_id,
        decision.tier_id,
        decision.pending_since,
        decision.override_active,
        decision.cause,
        bool(st.override_tier_id) and not decision.override_active,
        score,
        band,
        health.trend(score, reference),
        data,
        tuple(reasons),
        snapshot,
        code,
        peak,
        band != old_band,
    )
