"""Customer health score: weighted sub-scores of raw measured values."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass


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

    @property
    def active(self) -> bool:
        """True when the dimension takes part in the score."""
        return self.enabled and self.weight > 0


@dataclass(frozen=True)
class Contribution:
    """Share of one dimension in a health score."""

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
    if good == bad:
        raise ValueError("good and bad thresholds must differ")
    ratio = (value - bad) / (good - bad)
    return min(100.0, max(0.0, ratio * 100.0))


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
    if len({dim.key for dim in dimensions}) < len(dimensions):
        problems.append("duplicate_key")
    return problems


def compute_health(
    dimensions: Iterable[Dimension], raw: Mapping[str, float | None]
) -> HealthResult:
    """Score ``raw`` values against ``dimensions``.

    Weights of the active dimensions that have data are re-normalised to sum 1;
    active dimensions without data are reported in ``missing``.
    """
    dimensions = list(dimensions)
    problems = scorecard_problems(dimensions)
    if problems:
        raise HealthConfigError(problems)
    active = [dim for dim in dimensions if dim.active]
    present = [dim for dim in active if raw.get(dim.key) is not None]
    missing = tuple(sorted(dim.key for dim in active if raw.get(dim.key) is None))
    if not present:
        return HealthResult(None, (), missing)
    total = math.fsum(dim.weight for dim in present)
    contributions = []
    for dim in present:
        value = float(raw[dim.key])
        sub = subscore(value, dim.good, dim.bad)
        weight = dim.weight / total
        contributions.append(
            Contribution(
                dim.key, value, sub, weight, sub * weight, (100.0 - sub) * weight
            )
        )
    contributions.sort(key=lambda c: (-c.lost, c.key))
    score = min(100.0, max(0.0, math.fsum(c.points for c in contributions)))
    return HealthResult(round(score, 1), tuple(contributions), missing)


def band(
    score: float | None, healthy_min: float = 70.0, watch_min: float = 40.0
) -> str | None:
    """Return "healthy", "watch" or "at_risk" for ``score`` (None for None)."""
    if not 0 <= watch_min < healthy_min <= 100:
        raise ValueError("band thresholds must satisfy 0 <= watch < healthy <= 100")
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
    if limit < 0:
        raise ValueError("limit must be >= 0")
    reasons = sorted(
        (c for c in result.contributions if c.lost >= min_lost),
        key=lambda c: (-c.lost, c.key),
    )
    return tuple(reasons[:limit])


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
    """Return a warning code: "entered_at_risk", "dropped" or None."""
    if new_band == "at_risk" and old_band != "at_risk":
        return "entered_at_risk"
    if (
        old_score_30d is not None
        and new_score is not None
        and old_score_30d - new_score >= drop_points
    ):
        return "dropped"
    return None
