"""Customer health score: weighted sub-scores of raw measured values.

Also the rules around the score: the shipped scorecard, raw values from a
customer's facts, bands, trend, history snapshots and early warnings.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from itertools import repeat
from operator import mul, truediv
from operator import sub as sub_
from typing import NamedTuple


class HealthConfigError(ValueError):
    """The scorecard is invalid; ``code`` is the first problem, ``codes`` all."""

    def __init__(self, codes: Iterable[str]) -> None:
        self.codes = tuple(codes)
        self.code = self.codes[0] if self.codes else "invalid"
        super().__init__(", ".join(self.codes) or self.code)


@dataclass(frozen=True)
class Dimension:
    """One scored dimension.

    ``good`` is the raw value at (or beyond) which the sub-score is 100, ``bad``
    the one at (or beyond) which it is 0; ``good < bad`` means lower is better.
    """

    key: str
    weight: float
    good: float
    bad: float
    enabled: bool = True
    # None: any direction; True/False: ``good`` must be above/below ``bad``.
    higher_is_better: bool | None = None

    @property
    def active(self) -> bool:
        """True when the dimension takes part in the score."""
        return self.enabled and self.weight > 0


class Contribution(NamedTuple):
    """Share of one dimension in a health score (a named tuple: a batch of
    customers builds one per dimension and customer)."""

    key: str
    raw: float
    subscore: float
    weight: float  # normalised weight (share of 1.0)
    points: float  # subscore * weight, contribution to the final score
    lost: float  # (100 - subscore) * weight, points lost to this dimension


@dataclass(frozen=True)
class HealthResult:
    """Outcome of :func:`compute_health`."""

    score: float | None  # 0..100, 1 decimal; None when no dimension has data
    contributions: tuple[Contribution, ...]  # sorted by lost desc, then key
    missing: tuple[str, ...]  # active dimensions without data, sorted


def subscore(value: float, good: float, bad: float) -> float:
    """Map ``value`` linearly to 0..100 (100 at ``good``, 0 at ``bad``), clamped."""
    return subscores((value,), good, bad)[0]


def subscores(values, good: float, bad: float) -> list[float]:
    """:func:`subscore` of each of ``values`` (a batch's column of one
    dimension); a missing value (None) gets 0.0 (it weighs nothing)."""
    if good == bad:
        raise ValueError("good and bad thresholds must differ")
    span = good - bad
    return [
        0.0 if value is None else min(100.0, max(0.0, (value - bad) / span * 100.0))
        for value in values
    ]


def scorecard_problems(dimensions: Iterable[Dimension]) -> list[str]:
    """Return the problem codes of a scorecard, empty when it is valid."""
    dimensions = list(dimensions)
    problems: list[str] = []
    if not any(dim.active for dim in dimensions):
        problems.append("no_active_dimension")
    if any(dim.weight < 0 for dim in dimensions):
        problems.append("negative_weight")
    if any(dim.enabled and dim.good == dim.bad for dim in dimensions):
        problems.append("equal_thresholds")
    if any(
        dim.enabled
        and dim.higher_is_better is not None
        and dim.good != dim.bad
        and (dim.good > dim.bad) != dim.higher_is_better
        for dim in dimensions
    ):
        problems.append("reversed_thresholds")
    if len({dim.key for dim in dimensions}) < len(dimensions):
        problems.append("duplicate_key")
    return problems


class Ranking(NamedTuple):
    """:meth:`Scorer.rank` of a batch: one score per customer, and per
    active dimension (in scorecard order) one column of values per customer
    (a dimension without data: 0.0 weight, points and loss)."""

    scores: list[float | None]  # 0..100, 1 decimal; None: no dimension has data
    weights: list[list[float]]  # normalised weights (each customer's sum to 1)
    subscores: list[list[float]]
    points: list[list[float]]  # subscore * weight
    losses: list[list[float]]  # (100 - subscore) * weight


class Scorer:
    """A scorecard prepared for scoring many customers: validated once (unless
    ``checked``), its active dimensions kept in order.  A batch is scored
    column by column (one list per dimension, the arithmetic in ``map``s):
    :meth:`columns` then :meth:`rank`.  :func:`compute_health` is
    ``Scorer(dimensions).score(raw)``, a batch of one."""

    __slots__ = ("_raw", "active", "keys")

    def __init__(self, dimensions: Iterable[Dimension], checked: bool = False) -> None:
        dimensions = list(dimensions)
        problems = [] if checked else scorecard_problems(dimensions)
        if problems:
            raise HealthConfigError(problems)
        self.active = tuple(
            (dim.key, dim.weight, dim.good, dim.bad) for dim in dimensions if dim.active
        )
        self.keys = tuple(dim[0] for dim in self.active)
        self._raw = None

    def columns(self, facts: list[Facts], today: date) -> list[list[float | None]]:
        """The raw value of each active dimension (see :func:`raw_values`) for
        each of ``facts``: one list per dimension."""
        if self._raw is None:
            self._raw = tuple(REGISTRY[key].raw for key in self.keys)
        return [[raw(f, today) for f in facts] for raw in self._raw]

    def rank(self, columns: list[list[float | None]]) -> Ranking:
        """Score a batch given by its ``columns`` of raw values (see
        :meth:`columns`).  Each customer's weights are those of its
        dimensions with data, re-normalised to sum 1."""
        if not columns:
            return Ranking([], [], [], [], [])
        weights = [
            [0.0 if value is None else weight for value in column]
            for (__, weight, __, __), column in zip(self.active, columns, strict=True)
        ]
        totals = list(map(math.fsum, zip(*weights, strict=True)))
        divisors = [total or 1.0 for total in totals]
        weights = [list(map(truediv, column, divisors)) for column in weights]
        subs = [
            subscores(column, good, bad)
            for (__, __, good, bad), column in zip(self.active, columns, strict=True)
        ]
        points = [
            list(map(mul, sub, weight))
            for sub, weight in zip(subs, weights, strict=True)
        ]
        losses = [
            list(map(mul, map(sub_, repeat(100.0), sub), weight))
            for sub, weight in zip(subs, weights, strict=True)
        ]
        scores = [
            round(min(100.0, max(0.0, math.fsum(row))), 1) if total else None
            for total, row in zip(totals, zip(*points, strict=True), strict=True)
        ]
        return Ranking(scores, weights, subs, points, losses)

    def score(self, raw: Mapping[str, float | None]) -> HealthResult:
        """Score ``raw`` values (see :func:`compute_health`)."""
        values = [raw.get(key) for key in self.keys]
        ranking = self.rank([[value] for value in values])
        contributions = sorted(
            (
                Contribution(key, float(value), sub[0], weight[0], points[0], loss[0])
                for key, value, sub, weight, points, loss in zip(
                    self.keys,
                    values,
                    ranking.subscores,
                    ranking.weights,
                    ranking.points,
                    ranking.losses,
                    strict=True,
                )
                if value is not None
            ),
            key=lambda c: (-c.lost, c.key),
        )
        return HealthResult(
            ranking.scores[0] if values else None,
            tuple(contributions),
            tuple(
                sorted(
                    key
                    for key, value in zip(self.keys, values, strict=True)
                    if value is None
                )
            ),
        )


def compute_health(
    dimensions: Iterable[Dimension],
    raw: Mapping[str, float | None],
    checked: bool = False,
) -> HealthResult:
    """Score ``raw`` values against ``dimensions``.

    Weights of the active dimensions that have data are re-normalised to sum 1;
    active dimensions without data are reported in ``missing``.  ``checked``:
    the caller already validated the scorecard with :func:`scorecard_problems`
    (batches score thousands of customers against one scorecard: they use a
    :class:`Scorer`).
    """
    return Scorer(dimensions, checked=checked).score(raw)


def band(
    score: float | None, healthy_min: float = 70.0, watch_min: float = 40.0
) -> str | None:
    """Return "healthy", "watch" or "at_risk" for ``score`` (None for None)."""
    check_band_thresholds(healthy_min, watch_min)
    return band_of(score, healthy_min, watch_min)


def check_band_thresholds(healthy_min: float, watch_min: float) -> None:
    """Raise ValueError unless ``0 <= watch_min < healthy_min <= 100``."""
    if not 0 <= watch_min < healthy_min <= 100:
        raise ValueError("band thresholds must satisfy 0 <= watch < healthy <= 100")


def band_of(score: float | None, healthy_min: float, watch_min: float) -> str | None:
    """:func:`band` with thresholds already checked (a batch checks once)."""
    if score is None:
        return None
    if score >= healthy_min:
        return "healthy"
    if score >= watch_min:
        return "watch"
    return "at_risk"


def top_reasons(
    result: HealthResult, limit: int = 3, min_lost: float = 5.0
) -> tuple[Contribution, ...]:
    """Dimensions that cost at least ``min_lost`` points, most costly first."""
    by_key = {c.key: c for c in result.contributions}
    keys = top_reason_keys(
        [c.lost for c in result.contributions], list(by_key), limit, min_lost
    )
    return tuple(by_key[key] for key in keys)


def top_reason_keys(losses, keys, limit: int = 3, min_lost: float = 5.0) -> list[str]:
    """The keys (of parallel ``losses`` and ``keys``) of the dimensions that
    cost at least ``min_lost`` points, most costly first (then by key), at
    most ``limit``."""
    if limit < 0:
        raise ValueError("limit must be >= 0")
    ranked = sorted(
        (-lost, key) for lost, key in zip(losses, keys, strict=True) if lost >= min_lost
    )
    return [key for __, key in ranked[:limit]]


def trend(current: float | None, previous: float | None) -> float | None:
    """Score change rounded to 1 decimal; None when either score is unknown."""
    if current is None or previous is None:
        return None
    return round(current - previous, 1)


def should_warn(
    *,
    old_band: str | None,
    new_band: str | None,
    old_score_30d: float | None,
    new_score: float | None,
    drop_points: float = 15.0,
) -> str | None:
    """Return a warning code: "entered_at_risk", "dropped" or None.

    A first evaluation (no previous band) is a baseline, not a change: so
    installing the addon into a database with years of history does not file
    a warning for every customer that is already at risk.
    """
    if new_band == "at_risk" and old_band not in (None, "at_risk"):
        return "entered_at_risk"
    if (
        old_score_30d is not None
        and new_score is not None
        and old_score_30d - new_score >= drop_points
    ):
        return "dropped"
    return None


# --- raw values ----------------------------------------------------------------


# No review: the default of Facts.review (shared, never changed).
NO_REVIEW: Mapping[str, int | None] = {}


class Facts(NamedTuple):
    """What is known of one customer on a given day (amounts in one currency;
    a named tuple: a batch builds one per customer)."""

    last_order_date: date | None = None
    orders: int = 0  # orders in the frequency window
    orders_prev: int = 0  # orders in the window before
    revenue: float = 0.0  # revenue in the revenue window
    revenue_prev: float = 0.0  # revenue in the window before
    receivable: float | None = None  # open invoices; None: no recent invoicing
    overdue: float = 0.0  # part of ``receivable`` past its due date
    overdue_days: float = 0.0  # amount-weighted days past due of ``overdue``
    overdue_activities: int = 0  # open activities past their deadline
    engagement: float | None = None  # % of planned follow-ups done; None: no plan
    review: Mapping[str, int | None] = NO_REVIEW  # 1..5 scores
    touches: int = 0  # touches done in the feedback window (FEEDBACK_DAYS)
    negative_touches: int = 0  # of ``touches``, those with a negative outcome
    review_date: date | None = None  # the day of the review ``review`` comes from
    lifetime: float = 0.0  # revenue since the first order (the tier's criterion)
    excluded_orders: int = 0  # orders left out of every figure (no exchange rate)


# The touches of the last FEEDBACK_DAYS days (today included) count for the
# negative feedback dimension.
FEEDBACK_DAYS = 90

# The facts that only the customer's orders decide (a new order changes these).
ORDER_FACTS = frozenset(
    (
        "last_order_date",
        "orders",
        "orders_prev",
        "revenue",
        "revenue_prev",
        "lifetime",
        "excluded_orders",
    )
)


def change_pct(current: float, previous: float, cap: float = 100.0) -> float | None:
    """Change of ``current`` against ``previous`` in percent, at most ``cap``.

    Something from nothing counts as ``cap``; nothing from nothing is unknown.
    """
    if previous <= 0:
        return None if current <= 0 else cap
    return min(cap, (current - previous) / previous * 100.0)


def _recency(facts: Facts, today: date) -> float | None:
    if facts.last_order_date is None:
        return None
    return float(max(0, (today - facts.last_order_date).days))


def _frequency(facts: Facts, today: date) -> float | None:
    return change_pct(facts.orders, facts.orders_prev)


def _revenue_trend(facts: Facts, today: date) -> float | None:
    return change_pct(facts.revenue, facts.revenue_prev)


def _payment_overdue(facts: Facts, today: date) -> float | None:
    receivable = facts.receivable
    if receivable is None:
        return None
    if receivable <= 0:
        return 0.0
    return min(100.0, max(0.0, facts.overdue / receivable * 100.0))


def _payment_delay(facts: Facts, today: date) -> float | None:
    return None if facts.receivable is None else max(0.0, facts.overdue_days)


def _engagement(facts: Facts, today: date) -> float | None:
    return facts.engagement


def _overdue_activities(facts: Facts, today: date) -> float | None:
    return float(facts.overdue_activities)


def _negative_feedback(facts: Facts, today: date) -> float | None:
    if facts.touches <= 0:
        return None
    return min(100.0, max(0.0, facts.negative_touches / facts.touches * 100.0))


def _review_score(key: str) -> Callable[[Facts, date], float | None]:
    def raw(facts: Facts, today: date) -> float | None:
        score = facts.review.get(key)
        return None if score is None else float(score)

    return raw


# --- the registry: one entry per dimension --------------------------------------


def _lt(text: str) -> str:
    """Mark ``text`` as a term to translate, and return it unchanged.

    Odoo's term export looks for ``_()`` and ``_lt()`` calls with a literal in
    every Python file of the addon, this pure engine included, so these texts
    land in the catalogues; the models translate them where they are shown
    (``self.env._(spec.reason, ...)``).  No Odoo import here.
    """
    return text


# How a raw value reads: "142 days", "-50 %", "40 %", "2", "2/5".
VALUE_KINDS = ("days", "signed_pct", "pct", "count", "score")

# What a reason text may name (the models fill them in the reader's language):
# days, share, rate, count, score: the raw value's size; change: the raw
# value with its sign; dimension: the dimension's label; date: the date of
# the account review the value comes from.
REASON_PLACEHOLDERS = frozenset(
    ("days", "share", "rate", "count", "score", "change", "dimension", "date")
)


@dataclass(frozen=True)
class DimensionSpec:
    """Everything a health dimension is, in one place.

    The scorecard's selection, units and defaults, the raw value, the
    breakdown's value format and the reason text all derive from this entry.
    ``label`` is the English label of the scorecard's selection (Odoo exports
    selection labels from the field); ``unit`` and ``reason`` are English
    texts marked with :func:`_lt`.  ``raw(facts, today)`` computes the raw
    value (None: no data) and reads only the :class:`Facts` named in
    ``facts``.  ``good``/``bad`` are the default thresholds, in the unit.
    """

    key: str
    label: str
    unit: str
    kind: str  # one of VALUE_KINDS
    higher_is_better: bool
    weight: float
    good: float
    bad: float
    facts: tuple[str, ...]
    raw: Callable[[Facts, date], float | None]
    reason: str
    enabled: bool = True

    @property
    def default(self) -> Dimension:
        """The dimension as shipped in new databases."""
        return Dimension(
            self.key,
            self.weight,
            good=self.good,
            bad=self.bad,
            enabled=self.enabled,
            higher_is_better=self.higher_is_better,
        )


REVIEW_UNIT = _lt("score 1 to 5 of the latest account review")
REVIEW_REASON = _lt("%(dimension)s %(score)s/5 at the review of %(date)s")


def _review_dimension(key: str, label: str, weight: float) -> DimensionSpec:
    """A dimension read from the latest account review (1 very poor, 5 excellent)."""
    return DimensionSpec(
        key,
        label,
        REVIEW_UNIT,
        "score",
        higher_is_better=True,
        weight=weight,
        good=5,
        bad=1,
        facts=("review",),
        raw=_review_score(key),
        reason=REVIEW_REASON,
    )


# The default weights sum to 100 (they are re-normalised over the dimensions
# a customer has data for).  Orders and revenue weigh most (the seeds' "value
# contribution"), then payments and the account team's own follow-up, then
# the review's judgement ("relationship health" and "growth potential").
DIMENSIONS: tuple[DimensionSpec, ...] = (
    DimensionSpec(
        "recency",
        "Purchase recency",
        _lt("days since the last confirmed order"),
        "days",
        higher_is_better=False,
        weight=15,
        good=30,
        bad=180,
        facts=("last_order_date",),
        raw=_recency,
        reason=_lt("No order for %(days)s days"),
    ),
    DimensionSpec(
        "frequency",
        "Order frequency trend",
        _lt("% change of the orders against the period before"),
        "signed_pct",
        higher_is_better=True,
        weight=10,
        good=0,
        bad=-50,
        facts=("orders", "orders_prev"),
        raw=_frequency,
        reason=_lt("Orders %(change)s %% against the period before"),
    ),
    DimensionSpec(
        "revenue_trend",
        "Revenue trend",
        _lt("% change of the revenue against the period before"),
        "signed_pct",
        higher_is_better=True,
        weight=15,
        good=10,
        bad=-30,
        facts=("revenue", "revenue_prev"),
        raw=_revenue_trend,
        reason=_lt("Revenue %(change)s %% against the period before"),
    ),
    DimensionSpec(
        "payment_overdue",
        "Overdue receivables",
        _lt("% of the open receivables overdue"),
        "pct",
        higher_is_better=False,
        weight=10,
        good=0,
        bad=50,
        facts=("receivable", "overdue"),
        raw=_payment_overdue,
        reason=_lt("%(share)s %% of receivables overdue"),
    ),
    DimensionSpec(
        "payment_delay",
        "Payment delay",
        _lt("days overdue, weighted by amount"),
        "days",
        higher_is_better=False,
        weight=5,
        good=0,
        bad=60,
        facts=("receivable", "overdue_days"),
        raw=_payment_delay,
        reason=_lt("Overdue invoices %(days)s days late on average"),
    ),
    DimensionSpec(
        "engagement",
        "Follow-up engagement",
        _lt("% of the planned follow-ups done (90 days)"),
        "pct",
        higher_is_better=True,
        weight=5,
        good=90,
        bad=40,
        facts=("engagement",),
        raw=_engagement,
        reason=_lt("Only %(rate)s %% of the planned follow-ups done"),
    ),
    DimensionSpec(
        "overdue_activities",
        "Overdue activities",
        _lt("open activities past their deadline"),
        "count",
        higher_is_better=False,
        weight=5,
        good=0,
        bad=5,
        facts=("overdue_activities",),
        raw=_overdue_activities,
        reason=_lt("Follow-up activities past their deadline: %(count)s"),
    ),
    # The customer's reaction to the follow-ups (its weight came from
    # engagement's: the touches weigh 10 in all, as before).
    DimensionSpec(
        "negative_feedback",
        "Negative feedback",
        _lt("% of the touches of the last 90 days with a negative outcome"),
        "pct",
        higher_is_better=False,
        weight=5,
        good=0,
        bad=50,
        facts=("touches", "negative_touches"),
        raw=_negative_feedback,
        reason=_lt(
            "%(share)s %% of the touches of the last 90 days had a negative outcome"
        ),
    ),
    _review_dimension("satisfaction", "Satisfaction", 10),
    _review_dimension("needs_met", "Needs met", 5),
    _review_dimension("strategic_alignment", "Strategic alignment", 5),
    _review_dimension("innovation", "Innovation participation", 5),
    _review_dimension("relationship", "Relationship closeness", 5),
)
REGISTRY: dict[str, DimensionSpec] = {spec.key: spec for spec in DIMENSIONS}

# Review scores run from 1 (very poor) to 5 (excellent).
REVIEW_KEYS = tuple(spec.key for spec in DIMENSIONS if spec.facts == ("review",))

# The default scorecard: one line per registered dimension.
DEFAULT_SCORECARD: tuple[Dimension, ...] = tuple(spec.default for spec in DIMENSIONS)
DIRECTIONS: dict[str, bool] = {spec.key: spec.higher_is_better for spec in DIMENSIONS}


def raw_values(facts: Facts, today: date) -> dict[str, float | None]:
    """Raw value of every registered dimension (None: no data); see each
    entry of :data:`DIMENSIONS` for its unit."""
    return {spec.key: spec.raw(facts, today) for spec in DIMENSIONS}


# --- history and trend ---------------------------------------------------------


def snapshot_reason(
    *,
    last_snapshot: date | None,
    today: date,
    old_band: str | None,
    new_band: str | None,
) -> str | None:
    """Why a history snapshot is due today: "band", "monthly" or None.

    One snapshot at every band change, otherwise the first evaluation of each
    calendar month: at most 12 snapshots plus the band changes in a year,
    however often the customer is evaluated.
    """
    if new_band is None:
        return None
    if old_band is not None and new_band != old_band:
        return "band"
    if last_snapshot is None or (last_snapshot.year, last_snapshot.month) != (
        today.year,
        today.month,
    ):
        return "monthly"
    return None


def updates_day_snapshot(
    *, last_snapshot: date | None, today: date, new_band: str | None
) -> bool:
    """Whether today's evaluation rewrites today's snapshot: the day's
    snapshot follows the day's last evaluation (no second row that day)."""
    return new_band is not None and last_snapshot == today


def reference_score(
    history: Iterable[tuple[date, float]],
    today: date,
    days: int = 30,
    tolerance: int = 15,
) -> float | None:
    """The score of about ``days`` days ago, for the trend.

    Among the ``(date, score)`` snapshots dated ``days`` +/- ``tolerance`` days
    before ``today``, the one nearest to that day (the later one on a tie, the
    last given one on the same date); None when there is none.
    """
    target = today - timedelta(days=days)
    best = None
    for when, score in history:
        distance = abs((when - target).days)
        if distance > tolerance:
            continue
        key = (distance, -when.toordinal())
        if best is None or key <= best[0]:
            best = (key, score)
    return None if best is None else best[1]


def recent_peak(
    history: Iterable[tuple[date, float]],
    today: date,
    previous: float | None = None,
    days: int = 30,
) -> float | None:
    """Highest score of the last ``days`` days: snapshots and the ``previous``
    evaluation; the base of the "lost N points within 30 days" warning."""
    since = today - timedelta(days=days)
    scores = [score for when, score in history if since <= when <= today]
    if previous is not None:
        scores.append(previous)
    return max(scores, default=None)


def warning_due(
    code: str | None,
    *,
    open_warning: bool,
    warned_on: date | None,
    today: date,
    cooldown_days: int = 30,
) -> bool:
    """Whether a warning of ``code`` (see :func:`should_warn`) creates a follow-up.

    Never while one is open; a drop (which stays visible for up to 30 days)
    warns again only ``cooldown_days`` after the last warning.  Entering
    "at_risk" is an event of its own and always warns.
    """
    if code is None or open_warning:
        return False
    return not (
        code == "dropped"
        and warned_on is not None
        and (today - warned_on).days < cooldown_days
    )
