"""Tests of the health scorecard: sub-scores, weighting, bands and warnings."""

import re
from datetime import date, timedelta

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from customer_tiering_engine import health
from customer_tiering_engine.health import (
    DEFAULT_SCORECARD,
    DIRECTIONS,
    REVIEW_KEYS,
    Contribution,
    Dimension,
    Facts,
    HealthConfigError,
    HealthResult,
    band,
    change_pct,
    compute_health,
    raw_values,
    recent_peak,
    reference_score,
    scorecard_problems,
    should_warn,
    snapshot_reason,
    subscore,
    top_reasons,
    trend,
    updates_day_snapshot,
    warning_due,
)

RECENCY = Dimension("recency", 1.0, good=30, bad=180)  # days, lower is better
SATISFACTION = Dimension("satisfaction", 3.0, good=5, bad=1)  # higher is better


# --- subscore ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "good", "bad", "expected"),
    [
        (30, 30, 180, 100.0),
        (180, 30, 180, 0.0),
        (105, 30, 180, 50.0),
        (0, 30, 180, 100.0),
        (-10, 30, 180, 100.0),
        (365, 30, 180, 0.0),
        (5, 5, 1, 100.0),
        (1, 5, 1, 0.0),
        (3, 5, 1, 50.0),
        (4, 5, 1, 75.0),
        (9, 5, 1, 100.0),
        (0, 5, 1, 0.0),
        (0.1, 0.3, 0.1, 0.0),
        (0.3, 0.3, 0.1, 100.0),
    ],
)
def test_subscore(value, good, bad, expected):
    assert subscore(value, good, bad) == pytest.approx(expected)


def test_subscore_exact_at_thresholds():
    for good, bad in [(0.1, 0.7), (0.7, 0.1), (1e-9, 3e9), (-5.5, 12.25)]:
        assert subscore(good, good, bad) == 100.0
        assert subscore(bad, good, bad) == 0.0


def test_subscore_equal_thresholds_raise():
    with pytest.raises(ValueError):
        subscore(3, 2, 2)


finite = st.floats(min_value=-1e9, max_value=1e9, allow_nan=False)


@given(finite, finite, finite)
def test_subscore_range(value, good, bad):
    assume(good != bad)
    assert 0.0 <= subscore(value, good, bad) <= 100.0


# --- scorecard problems ------------------------------------------------------


@pytest.mark.parametrize(
    ("dimensions", "problems"),
    [
        ([RECENCY, SATISFACTION], []),
        ([RECENCY, Dimension("x", 0, 1, 2)], []),
        ([], ["no_active_dimension"]),
        ([Dimension("a", 0, 1, 2)], ["no_active_dimension"]),
        ([Dimension("a", 1, 1, 2, enabled=False)], ["no_active_dimension"]),
        ([RECENCY, Dimension("a", -1, 1, 2)], ["negative_weight"]),
        (
            [Dimension("a", -1, 1, 2)],
            ["no_active_dimension", "negative_weight"],
        ),
        ([RECENCY, Dimension("a", 1, 2, 2)], ["equal_thresholds"]),
        ([RECENCY, Dimension("a", 1, 2, 2, enabled=False)], []),
        ([RECENCY, Dimension("recency", 1, 1, 2)], ["duplicate_key"]),
        ([Dimension("a", 1, 30, 180, higher_is_better=False)], []),
        ([Dimension("a", 1, 180, 30, higher_is_better=True)], []),
        (
            [Dimension("a", 1, 180, 30, higher_is_better=False)],
            ["reversed_thresholds"],
        ),
        (
            [RECENCY, Dimension("a", 1, 1, 5, enabled=False, higher_is_better=True)],
            [],
        ),
        (
            [Dimension("a", 1, 2, 2, higher_is_better=True)],
            ["equal_thresholds"],
        ),
    ],
)
def test_scorecard_problems(dimensions, problems):
    assert scorecard_problems(dimensions) == problems


def test_compute_health_rejects_invalid_scorecard():
    with pytest.raises(HealthConfigError) as err:
        compute_health([RECENCY, Dimension("recency", 1, 2, 2)], {"recency": 1})
    assert err.value.code == "equal_thresholds"
    assert err.value.codes == ("equal_thresholds", "duplicate_key")
    assert isinstance(err.value, ValueError)
    with pytest.raises(HealthConfigError) as err:
        compute_health([], {})
    assert err.value.code == "no_active_dimension"


# --- compute_health ----------------------------------------------------------


def test_weighted_score_and_contributions():
    result = compute_health(
        [RECENCY, SATISFACTION], {"recency": 105, "satisfaction": 4}
    )
    # 50 * 0.25 + 75 * 0.75 = 68.75 -> 68.8
    assert result.score == 68.8
    assert result.missing == ()
    satisfaction, recency = result.contributions  # most points lost first
    assert recency == Contribution(
        "recency", 105.0, 50.0, 0.25, pytest.approx(12.5), pytest.approx(12.5)
    )
    assert satisfaction.key == "satisfaction"
    assert satisfaction.weight == pytest.approx(0.75)
    assert satisfaction.points == pytest.approx(56.25)
    assert satisfaction.lost == pytest.approx(18.75)
    assert sum(c.points for c in result.contributions) == pytest.approx(68.75)


def test_missing_dimension_renormalises_weights():
    # weights 1 and 3, the heavy one missing: score is the other's subscore
    result = compute_health([RECENCY, SATISFACTION], {"recency": 67.5})
    assert result.score == 75.0
    assert result.missing == ("satisfaction",)
    assert [c.weight for c in result.contributions] == [1.0]
    result = compute_health(
        [RECENCY, SATISFACTION], {"recency": None, "satisfaction": 2}
    )
    assert result.score == 25.0
    assert result.missing == ("recency",)


def test_no_data_gives_no_score():
    result = compute_health([RECENCY, SATISFACTION], {})
    assert result == HealthResult(None, (), ("recency", "satisfaction"))
    assert band(result.score) is None


def test_disabled_and_zero_weight_dimensions_are_ignored():
    dims = [
        RECENCY,
        Dimension("off", 5, 0, 1, enabled=False),
        Dimension("zero", 0, 0, 1),
        Dimension("gone", 2, 0, 1, enabled=False),
    ]
    result = compute_health(dims, {"recency": 180, "off": 1, "zero": 1})
    assert result.score == 0.0
    assert [c.key for c in result.contributions] == ["recency"]
    assert result.missing == ()


def test_unknown_raw_keys_are_ignored():
    result = compute_health([RECENCY], {"recency": 30, "other": 0})
    assert result.score == 100.0


def test_contributions_sorted_by_lost_then_key():
    dims = [Dimension(key, 1, 10, 0) for key in ("c", "a", "b", "d")]
    result = compute_health(dims, {"a": 5, "b": 2, "c": 5, "d": 10})
    assert [c.key for c in result.contributions] == ["b", "a", "c", "d"]
    assert result.score == pytest.approx(55.0)


def test_score_is_rounded_to_one_decimal():
    dims = [Dimension("a", 1, 3, 0), Dimension("b", 2, 3, 0)]
    result = compute_health(dims, {"a": 1, "b": 0})
    assert result.score == 11.1  # 33.33.. / 3


# --- properties --------------------------------------------------------------


@st.composite
def scorecards(draw):
    """Valid scorecards with raw values (some missing) for each dimension."""
    size = draw(st.integers(1, 5))
    dims, raw = [], {}
    for index in range(size):
        good = draw(st.floats(-1e4, 1e4))
        bad = draw(st.floats(-1e4, 1e4).filter(lambda b, g=good: b != g))
        weight = draw(st.floats(0.01, 100) | st.just(0.0))
        dims.append(Dimension(f"d{index}", weight, good, bad, draw(st.booleans())))
        raw[f"d{index}"] = draw(st.none() | st.floats(-2e4, 2e4))
    assume(not scorecard_problems(dims))
    return dims, raw


@given(scorecards())
def test_score_in_range(card):
    dims, raw = card
    result = compute_health(dims, raw)
    assert result.score is None or 0.0 <= result.score <= 100.0
    assert all(0.0 <= c.subscore <= 100.0 for c in result.contributions)
    if result.contributions:
        assert sum(c.weight for c in result.contributions) == pytest.approx(1.0)
    active = {d.key for d in dims if d.enabled and d.weight > 0}
    seen = {c.key for c in result.contributions} | set(result.missing)
    assert seen == active


@given(scorecards(), st.data())
def test_improving_one_value_never_lowers_the_score(card, data):
    dims, raw = card
    scored = [d for d in dims if d.active and raw[d.key] is not None]
    assume(scored)
    dim = data.draw(st.sampled_from(scored))
    step = data.draw(st.floats(0, 2e4))
    better = dict(raw)
    # move towards "good": down when lower is better, up otherwise
    better[dim.key] = raw[dim.key] + (step if dim.good > dim.bad else -step)
    before, after = compute_health(dims, raw), compute_health(dims, better)
    assert after.score >= before.score


@given(scorecards())
def test_compute_health_is_deterministic(card):
    dims, raw = card
    assert compute_health(dims, raw) == compute_health(list(reversed(dims)), raw)


# --- band, reasons, trend, warnings ------------------------------------------


@pytest.mark.parametrize(
    ("score", "expected"),
    [
        (100, "healthy"),
        (70, "healthy"),
        (69.9, "watch"),
        (40, "watch"),
        (39.9, "at_risk"),
        (0, "at_risk"),
        (None, None),
    ],
)
def test_band_default_edges(score, expected):
    assert band(score) == expected


def test_band_custom_edges():
    assert band(80, healthy_min=80, watch_min=0) == "healthy"
    assert band(0, healthy_min=80, watch_min=0) == "watch"
    assert band(99.9, healthy_min=100, watch_min=50) == "watch"


@pytest.mark.parametrize(
    ("healthy_min", "watch_min"),
    [(40, 40), (30, 40), (101, 40), (70, -1)],
)
def test_band_invalid_edges(healthy_min, watch_min):
    with pytest.raises(ValueError):
        band(50, healthy_min=healthy_min, watch_min=watch_min)
    with pytest.raises(ValueError):
        band(None, healthy_min=healthy_min, watch_min=watch_min)


def _result(*losts):
    contributions = tuple(
        Contribution(key, 0, 100 - lost, 1.0, 100 - lost, lost) for key, lost in losts
    )
    return HealthResult(50.0, contributions, ())


def test_top_reasons_ordering_and_filters():
    result = _result(("a", 4.99), ("b", 20), ("c", 5), ("d", 30), ("e", 20))
    assert [c.key for c in top_reasons(result)] == ["d", "b", "e"]
    assert [c.key for c in top_reasons(result, limit=10)] == ["d", "b", "e", "c"]
    assert [c.key for c in top_reasons(result, min_lost=0)][-1] == "e"
    assert top_reasons(result, limit=0) == ()
    assert top_reasons(result, min_lost=31) == ()
    with pytest.raises(ValueError):
        top_reasons(result, limit=-1)


def test_top_reasons_from_computed_result():
    dims = [RECENCY, SATISFACTION, Dimension("orders", 1, 12, 0)]
    result = compute_health(dims, {"recency": 30, "satisfaction": 1, "orders": 6})
    assert [c.key for c in top_reasons(result)] == ["satisfaction", "orders"]


@pytest.mark.parametrize(
    ("current", "previous", "expected"),
    [
        (70.3, 60.1, 10.2),
        (40, 55.56, -15.6),
        (50, 50, 0.0),
        (None, 5, None),
        (5, None, None),
        (None, None, None),
    ],
)
def test_trend(current, previous, expected):
    assert trend(current, previous) == expected


@pytest.mark.parametrize(
    ("old_band", "new_band", "old_score", "new_score", "expected"),
    [
        ("watch", "at_risk", 45, 39, "entered_at_risk"),
        (None, "at_risk", None, 10, None),  # first evaluation: a baseline
        ("healthy", "at_risk", 90, 10, "entered_at_risk"),
        ("at_risk", "at_risk", 90, 10, "dropped"),
        ("at_risk", "at_risk", 30, 20, None),
        ("healthy", "watch", 85, 70, "dropped"),
        ("healthy", "watch", 85, 70.1, None),
        ("healthy", "healthy", 100, 85, "dropped"),
        ("watch", "healthy", 50, 80, None),
        ("healthy", "watch", None, 50, None),
        ("healthy", None, 80, None, None),
    ],
)
def test_should_warn(old_band, new_band, old_score, new_score, expected):
    assert (
        should_warn(
            old_band=old_band,
            new_band=new_band,
            old_score_30d=old_score,
            new_score=new_score,
        )
        == expected
    )


def test_should_warn_custom_drop():
    kwargs = {"old_band": "healthy", "new_band": "healthy", "old_score_30d": 95}
    assert should_warn(new_score=90, drop_points=5, **kwargs) == "dropped"
    assert should_warn(new_score=90.1, drop_points=5, **kwargs) is None


def test_module_name():
    assert health.__name__ == "customer_tiering_engine.health"


# --- the shipped scorecard ---------------------------------------------------


def test_default_scorecard_is_valid_and_sums_to_100():
    assert scorecard_problems(DEFAULT_SCORECARD) == []
    assert sum(d.weight for d in DEFAULT_SCORECARD) == 100
    assert all(d.enabled and d.higher_is_better is not None for d in DEFAULT_SCORECARD)
    assert set(REVIEW_KEYS) <= set(DIRECTIONS)
    assert set(raw_values(Facts(), date(2026, 1, 1))) == set(DIRECTIONS)
    # The example: recency <= 30 days gives 100, >= 180 days gives 0.
    recency = next(d for d in DEFAULT_SCORECARD if d.key == "recency")
    assert (recency.good, recency.bad) == (30, 180)


# --- raw values ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("current", "previous", "expected"),
    [
        (5, 10, -50.0),
        (10, 10, 0.0),
        (15, 10, 50.0),
        (30, 10, 100.0),  # capped
        (3, 0, 100.0),  # something from nothing
        (0, 0, None),  # nothing from nothing
        (0, 4, -100.0),
        (0, -5, None),  # credit notes only
    ],
)
def test_change_pct(current, previous, expected):
    assert change_pct(current, previous) == expected


TODAY = date(2026, 3, 31)


def test_raw_values_from_facts():
    facts = Facts(
        last_order_date=TODAY - timedelta(days=142),
        orders=2,
        orders_prev=4,
        revenue=80.0,
        revenue_prev=100.0,
        receivable=1500.0,
        overdue=630.0,
        overdue_days=35.0,
        overdue_activities=2,
        engagement=75.0,
        review={"satisfaction": 2, "needs_met": None},
    )
    raw = raw_values(facts, TODAY)
    assert raw["recency"] == 142.0
    assert raw["frequency"] == -50.0
    assert raw["revenue_trend"] == pytest.approx(-20.0)
    assert raw["payment_overdue"] == pytest.approx(42.0)
    assert raw["payment_delay"] == 35.0
    assert raw["engagement"] == 75.0
    assert raw["overdue_activities"] == 2.0
    assert raw["satisfaction"] == 2.0
    assert raw["needs_met"] is None
    assert raw["relationship"] is None


def test_raw_values_missing_data():
    raw = raw_values(Facts(), TODAY)
    assert raw["recency"] is None, "never ordered"
    assert raw["frequency"] is None and raw["revenue_trend"] is None
    assert raw["payment_overdue"] is None, "no invoicing: left out"
    assert raw["payment_delay"] is None
    assert raw["engagement"] is None, "no maintenance plan yet"
    assert raw["overdue_activities"] == 0.0
    # Invoiced and everything paid: the best payment values, not missing.
    paid = raw_values(Facts(receivable=0.0), TODAY)
    assert (paid["payment_overdue"], paid["payment_delay"]) == (0.0, 0.0)
    # An order "in the future" of the evaluation day counts as today.
    assert raw_values(Facts(last_order_date=TODAY + timedelta(1)), TODAY)[
        "recency"
    ] == (0.0)


def test_default_scorecard_with_missing_dimensions():
    facts = Facts(
        last_order_date=TODAY - timedelta(days=330),
        orders=0,
        orders_prev=1,
        revenue=30_000,
        revenue_prev=120_000,
    )
    result = compute_health(DEFAULT_SCORECARD, raw_values(facts, TODAY))
    # recency, frequency and revenue lost; only "no overdue activity" scores.
    assert result.score == pytest.approx(100 * 5 / 45, abs=0.05)
    assert band(result.score) == "at_risk"
    assert set(result.missing) == {
        "payment_overdue",
        "payment_delay",
        "engagement",
        "negative_feedback",
    }.union(REVIEW_KEYS)
    assert [c.key for c in top_reasons(result)] == [
        "recency",
        "revenue_trend",
        "frequency",
    ]


facts_strategy = st.builds(
    lambda **values: Facts(**values),
    last_order_date=st.none() | st.dates(date(2020, 1, 1), TODAY),
    orders=st.integers(0, 50),
    orders_prev=st.integers(0, 50),
    revenue=st.floats(0, 1e7),
    revenue_prev=st.floats(0, 1e7),
    receivable=st.none() | st.floats(0, 1e6),
    overdue=st.floats(0, 1e6),
    overdue_days=st.floats(0, 400),
    overdue_activities=st.integers(0, 20),
    engagement=st.none() | st.floats(0, 100),
    review=st.fixed_dictionaries(
        {key: st.none() | st.integers(1, 5) for key in REVIEW_KEYS}
    ),
)


@given(facts_strategy, st.integers(1, 400))
def test_better_facts_never_lower_the_default_score(facts, delta):
    def score(**changes):
        changed = facts._replace(**changes)
        return compute_health(DEFAULT_SCORECARD, raw_values(changed, TODAY)).score

    base = score()
    assert base is not None, "overdue activities always have a value"
    assert 0.0 <= base <= 100.0
    if facts.last_order_date is not None:
        later = min(TODAY, facts.last_order_date + timedelta(days=delta))
        assert score(last_order_date=later) >= base
    assert score(overdue_activities=max(0, facts.overdue_activities - 1)) >= base
    assert score(overdue_days=max(0.0, facts.overdue_days - delta)) >= base
    assert score(orders=facts.orders + delta) >= base
    assert score(revenue=facts.revenue + delta) >= base
    if facts.receivable:
        assert score(overdue=max(0.0, facts.overdue - delta)) >= base


# --- history and trend ---------------------------------------------------------


@pytest.mark.parametrize(
    ("last", "old_band", "new_band", "expected"),
    [
        (None, None, "healthy", "monthly"),  # first evaluation
        (None, None, None, None),  # no score: nothing to keep
        (date(2026, 3, 1), "healthy", "healthy", None),  # already this month
        (date(2026, 2, 28), "healthy", "healthy", "monthly"),
        (date(2025, 3, 15), "watch", "watch", "monthly"),  # same month, other year
        (date(2026, 3, 30), "healthy", "watch", "band"),
        (date(2026, 2, 1), "watch", "at_risk", "band"),
        (date(2026, 3, 30), "watch", None, None),
    ],
)
def test_snapshot_reason(last, old_band, new_band, expected):
    reason = snapshot_reason(
        last_snapshot=last, today=TODAY, old_band=old_band, new_band=new_band
    )
    assert reason == expected


@given(
    st.lists(
        st.tuples(st.integers(0, 3), st.sampled_from(["healthy", "watch", "at_risk"])),
        min_size=365,
        max_size=365,
    )
)
def test_snapshots_bounded_over_a_year(days):
    """A year of evaluations (0 to 3 a day): at most 12 snapshots plus the
    band changes, and one in every month with an evaluation."""
    start = date(2025, 1, 1)
    last = band_now = None
    snapshots, changes, months = [], 0, set()
    for offset, (runs, new_band) in enumerate(days):
        today = start + timedelta(days=offset)
        for _run in range(runs):
            months.add(today.month)
            reason = snapshot_reason(
                last_snapshot=last, today=today, old_band=band_now, new_band=new_band
            )
            if band_now is not None and new_band != band_now:
                changes += 1
            if reason:
                snapshots.append((today, reason))
                last = today
            band_now = new_band
    assert len(snapshots) <= 12 + changes
    assert {when.month for when, _reason in snapshots} == months
    assert sum(reason == "band" for _when, reason in snapshots) == changes


def test_reference_score():
    history = [
        (TODAY - timedelta(days=61), 10.0),
        (TODAY - timedelta(days=44), 20.0),
        (TODAY - timedelta(days=28), 30.0),
        (TODAY - timedelta(days=28), 35.0),  # same day: the last one
        (TODAY - timedelta(days=10), 40.0),
    ]
    assert reference_score(history, TODAY) == 35.0
    assert reference_score(history[:2], TODAY) == 20.0
    assert reference_score(history[:1], TODAY) is None, "too old"
    assert reference_score(history[-1:], TODAY) is None, "too recent"
    assert reference_score([], TODAY) is None
    tie = [(TODAY - timedelta(days=33), 1.0), (TODAY - timedelta(days=27), 2.0)]
    assert reference_score(tie, TODAY) == 2.0, "the later one on a tie"
    assert reference_score(list(reversed(tie)), TODAY) == 2.0


def test_recent_peak():
    history = [
        (TODAY - timedelta(days=31), 99.0),
        (TODAY - timedelta(days=30), 80.0),
        (TODAY - timedelta(days=3), 60.0),
        (TODAY + timedelta(days=1), 100.0),  # after the evaluation day
    ]
    assert recent_peak(history, TODAY) == 80.0
    assert recent_peak(history, TODAY, previous=85.0) == 85.0
    assert recent_peak([], TODAY, previous=50.0) == 50.0
    assert recent_peak([], TODAY) is None


@pytest.mark.parametrize(
    ("code", "open_warning", "warned_days_ago", "expected"),
    [
        (None, False, None, False),
        ("entered_at_risk", False, None, True),
        ("entered_at_risk", True, None, False),  # one is still open
        ("entered_at_risk", False, 2, True),  # a new event
        ("dropped", False, None, True),
        ("dropped", True, None, False),
        ("dropped", False, 29, False),  # same drop, already warned
        ("dropped", False, 30, True),
    ],
)
def test_warning_due(code, open_warning, warned_days_ago, expected):
    warned_on = None if warned_days_ago is None else TODAY - timedelta(warned_days_ago)
    due = warning_due(code, open_warning=open_warning, warned_on=warned_on, today=TODAY)
    assert due is expected


def test_updates_day_snapshot():
    """The day's snapshot follows the day's last evaluation."""
    day = TODAY
    assert updates_day_snapshot(last_snapshot=day, today=day, new_band="watch")
    assert not updates_day_snapshot(
        last_snapshot=day - timedelta(days=1), today=day, new_band="watch"
    )
    assert not updates_day_snapshot(last_snapshot=None, today=day, new_band="watch")
    assert not updates_day_snapshot(last_snapshot=day, today=day, new_band=None)


# --- the registry ----------------------------------------------------------------


def test_every_registry_entry_is_complete():
    assert len(health.REGISTRY) == len(health.DIMENSIONS), "unique keys"
    fact_names = set(Facts._fields)
    for spec in health.DIMENSIONS:
        assert spec.key and spec.label.strip() and spec.unit.strip()
        assert spec.kind in health.VALUE_KINDS
        assert isinstance(spec.higher_is_better, bool)
        assert spec.weight >= 0 and spec.good != spec.bad
        assert (spec.good > spec.bad) == spec.higher_is_better
        assert spec.facts and set(spec.facts) <= fact_names
        placeholders = set(re.findall(r"%\((\w+)\)s", spec.reason))
        assert placeholders and placeholders <= health.REASON_PLACEHOLDERS
        assert callable(spec.raw)


class _OnlyFacts:
    """Facts that refuse to be read beyond the names an entry declares."""

    def __init__(self, facts, allowed):
        self._facts, self._allowed = facts, allowed

    def __getattr__(self, name):
        assert name in self._allowed, f"reads undeclared fact {name}"
        return getattr(self._facts, name)


def test_registry_entries_read_only_their_declared_facts():
    facts = Facts(
        last_order_date=TODAY,
        receivable=10.0,
        overdue=5.0,
        review=dict.fromkeys(REVIEW_KEYS, 3),
    )
    for spec in health.DIMENSIONS:
        assert (
            spec.raw(_OnlyFacts(facts, spec.facts), TODAY)
            == raw_values(facts, TODAY)[spec.key]
        )


def test_default_scorecard_derives_from_the_registry():
    assert [d.key for d in DEFAULT_SCORECARD] == [s.key for s in health.DIMENSIONS]
    for dim, spec in zip(DEFAULT_SCORECARD, health.DIMENSIONS, strict=True):
        assert dim == spec.default
        assert (dim.weight, dim.good, dim.bad, dim.enabled) == (
            spec.weight,
            spec.good,
            spec.bad,
            spec.enabled,
        )
        assert DIRECTIONS[dim.key] is spec.higher_is_better
    assert REVIEW_KEYS == (
        "satisfaction",
        "needs_met",
        "strategic_alignment",
        "innovation",
        "relationship",
    )
    order_dimensions = {
        spec.key for spec in health.DIMENSIONS if set(spec.facts) <= health.ORDER_FACTS
    }
    assert order_dimensions == {"recency", "frequency", "revenue_trend"}


def test_negative_feedback_share_of_the_touches():
    spec = health.REGISTRY["negative_feedback"]
    assert raw_values(Facts(), TODAY)["negative_feedback"] is None, "no touch"
    assert raw_values(Facts(touches=4, negative_touches=2), TODAY)[
        "negative_feedback"
    ] == pytest.approx(50.0)
    assert raw_values(Facts(touches=3), TODAY)["negative_feedback"] == 0.0
    assert spec.higher_is_better is False, "lower is better"
    assert spec.kind == "pct" and spec.enabled
    assert 0 < spec.weight <= 5, "a small weight"
    dims = {d.key: d for d in DEFAULT_SCORECARD}
    assert dims["negative_feedback"].good < dims["negative_feedback"].bad
    # More negative touches never raise the score.
    calm = compute_health(DEFAULT_SCORECARD, raw_values(Facts(touches=4), TODAY))
    upset = compute_health(
        DEFAULT_SCORECARD, raw_values(Facts(touches=4, negative_touches=2), TODAY)
    )
    assert upset.score < calm.score
    assert not set(spec.facts) <= health.ORDER_FACTS, "touches are no order facts"
