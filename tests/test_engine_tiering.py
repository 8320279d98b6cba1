"""Tests of the tier ladder, its validation and the downgrade hysteresis."""

import ast
import sys
from datetime import date, timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from customer_tiering_engine import tiering
from customer_tiering_engine.tiering import (
    Cause,
    LadderError,
    Metrics,
    TierDecision,
    TierRule,
    decide_tier,
    evaluate_tier,
    growth_pct,
    ladder_problems,
    rule_matches,
)

S, A, B, C = 1, 2, 3, 4
DEFAULT_LADDER = (
    TierRule(S, 4, min_revenue=5_000_000),
    TierRule(A, 3, min_revenue=1_000_000),
    TierRule(B, 2, min_revenue=500_000),
    TierRule(C, 1),
)
# Second source document: lifetime value, strategic > 10M, core 5M to 10M,
# growth 1M to 5M, opportunity < 1M. Thresholds are inclusive (>=), so the
# strict "more than 10M" is expressed as the next cent.
LIFETIME_LADDER = (
    TierRule(S, 4, min_lifetime=10_000_000.01),
    TierRule(A, 3, min_lifetime=5_000_000),
    TierRule(B, 2, min_lifetime=1_000_000),
    TierRule(C, 1),
)
ENGINE_DIR = Path(__file__).resolve().parents[1] / "customer_tiering" / "engine"
RANKS = {S: 4, A: 3, B: 2, C: 1}
RULES = {rule.tier_id: rule for rule in DEFAULT_LADDER}


def test_engine_imports_only_stdlib_and_relative_modules():
    assert tiering.__name__ == "customer_tiering_engine.tiering"
    sources = sorted(ENGINE_DIR.glob("*.py"))
    assert {path.name for path in sources} >= {
        "__init__.py",
        "tiering.py",
        "health.py",
        "cadence.py",
    }
    for path in sources:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                roots = {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                roots = {node.module.split(".")[0]}
            else:
                continue
            assert roots <= sys.stdlib_module_names | {"__future__"}, path


# --- growth ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("current", "previous", "expected"),
    [
        (150.0, 100.0, 50.0),
        (50.0, 100.0, -50.0),
        (100.0, 100.0, 0.0),
        (0.0, 100.0, -100.0),
        (100.0, 0.0, None),
        (0.0, 0.0, None),
        (100.0, -10.0, None),
    ],
)
def test_growth_pct(current, previous, expected):
    assert growth_pct(current, previous) == expected


def test_metrics_growth_property():
    assert Metrics(revenue=120, revenue_prev=100).growth == pytest.approx(20.0)
    assert Metrics(revenue=120).growth is None


# --- single criteria ---------------------------------------------------------


@pytest.mark.parametrize(
    ("rule", "failing", "passing"),
    [
        (
            TierRule(1, 1, min_revenue=1000),
            Metrics(revenue=999.99),
            Metrics(revenue=1000),
        ),
        (
            TierRule(1, 1, min_lifetime=2000),
            Metrics(lifetime=1999.99),
            Metrics(lifetime=2000),
        ),
        (TierRule(1, 1, min_orders=5), Metrics(orders=4), Metrics(orders=5)),
        (
            TierRule(1, 1, min_growth=10),
            Metrics(revenue=109.99, revenue_prev=100),
            Metrics(revenue=110, revenue_prev=100),
        ),
        (
            TierRule(1, 1, require_strategic=True),
            Metrics(strategic=False, revenue=1e9),
            Metrics(strategic=True),
        ),
    ],
    ids=["revenue", "lifetime", "orders", "growth", "strategic"],
)
def test_single_criterion_boundaries(rule, failing, passing):
    assert not rule.is_catch_all
    assert rule_matches(rule, failing) is False
    assert rule_matches(rule, passing) is True


@pytest.mark.parametrize(
    "metrics",
    [
        Metrics(),
        Metrics(revenue=-5, revenue_prev=10, orders=0, lifetime=-1),
        Metrics(revenue=1e9, strategic=True),
    ],
)
def test_empty_criteria_is_catch_all(metrics):
    rule = TierRule(9, 0)
    assert rule.is_catch_all
    assert rule_matches(rule, metrics)


def test_only_set_criteria_count_and_all_must_hold():
    rule = TierRule(1, 1, min_revenue=100, min_orders=3)
    assert rule_matches(rule, Metrics(revenue=100, orders=3))
    assert not rule_matches(rule, Metrics(revenue=100, orders=2))
    assert not rule_matches(rule, Metrics(revenue=99, orders=3))
    # growth and lifetime are not set: poor values do not matter
    assert rule_matches(rule, Metrics(revenue=100, revenue_prev=1e6, orders=3))


def test_zero_thresholds_are_set_criteria():
    assert not TierRule(1, 1, min_orders=0).is_catch_all
    assert not TierRule(1, 1, min_revenue=0.0).is_catch_all
    assert not rule_matches(TierRule(1, 1, min_revenue=0.0), Metrics(revenue=-0.01))


def test_negative_growth_threshold():
    rule = TierRule(1, 1, min_growth=-20)
    assert rule_matches(rule, Metrics(revenue=80, revenue_prev=100))
    assert not rule_matches(rule, Metrics(revenue=79.99, revenue_prev=100))


def test_growth_from_zero_previous_window():
    rule = TierRule(1, 1, min_growth=1_000_000)
    # new revenue from nothing counts as unbounded growth
    assert rule_matches(rule, Metrics(revenue=0.01, revenue_prev=0))
    # nothing in both windows is no growth at all, even for a negative minimum
    assert not rule_matches(rule, Metrics(revenue=0, revenue_prev=0))
    assert not rule_matches(TierRule(1, 1, min_growth=-50), Metrics())
    # refunds only (negative previous) behave like an empty previous window
    assert rule_matches(rule, Metrics(revenue=10, revenue_prev=-5))
    assert not rule_matches(rule, Metrics(revenue=-1, revenue_prev=0))


# --- ladders -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("revenue", "tier"),
    [
        (0, C),
        (499_999.99, C),
        (500_000, B),
        (999_999.99, B),
        (1_000_000, A),
        (4_999_999.99, A),
        (5_000_000, S),
        (80_000_000, S),
        (-1_000, C),
    ],
)
def test_default_ladder(revenue, tier):
    assert evaluate_tier(DEFAULT_LADDER, Metrics(revenue=revenue)).tier_id == tier


@pytest.mark.parametrize(
    ("lifetime", "tier"),
    [
        (50_000_000, S),
        (10_000_000.01, S),
        (10_000_000, A),
        (5_000_000, A),
        (4_999_999.99, B),
        (1_000_000, B),
        (999_999.99, C),
        (0, C),
    ],
)
def test_lifetime_ladder(lifetime, tier):
    # the window revenue is irrelevant for this ladder
    metrics = Metrics(revenue=9e9, lifetime=lifetime)
    assert evaluate_tier(LIFETIME_LADDER, metrics).tier_id == tier


GROWTH_LADDER = (
    TierRule(S, 4, min_revenue=5_000_000, min_growth=20, require_strategic=True),
    TierRule(A, 3, min_revenue=1_000_000, min_growth=10, min_orders=6),
    TierRule(C, 1),
)


@pytest.mark.parametrize(
    ("metrics", "tier"),
    [
        (Metrics(6_000_000, 5_000_000, 6, 0, True), S),
        (Metrics(5_999_999.99, 5_000_000, 6, 0, True), A),  # growth 19.99 %
        (Metrics(6_000_000, 5_000_000, 6, 0, False), A),  # not strategic
        (Metrics(6_000_000, 5_000_000, 5, 0, False), C),  # too few orders
        (Metrics(1_100_000, 1_000_000, 6, 0, False), A),  # growth exactly 10 %
        (Metrics(1_099_999.99, 1_000_000, 6, 0, True), C),
        (Metrics(5_000_000, 0, 6, 0, True), S),  # new customer: unbounded growth
    ],
)
def test_combined_criteria_ladder(metrics, tier):
    assert evaluate_tier(GROWTH_LADDER, metrics).tier_id == tier


def test_evaluate_returns_the_rule_itself():
    assert evaluate_tier(DEFAULT_LADDER, Metrics(revenue=1e6)) is DEFAULT_LADDER[1]


def test_equal_rank_tie_breaks_on_lower_tier_id():
    rules = [TierRule(7, 2), TierRule(3, 2), TierRule(5, 1)]
    assert evaluate_tier(rules, Metrics()).tier_id == 3
    assert evaluate_tier(reversed(rules), Metrics()).tier_id == 3


def test_ladder_without_catch_all_raises():
    rules = [TierRule(1, 2, min_revenue=100), TierRule(2, 1, min_revenue=10)]
    assert evaluate_tier(rules, Metrics(revenue=10)).tier_id == 2
    with pytest.raises(LadderError) as err:
        evaluate_tier(rules, Metrics(revenue=9.99))
    assert err.value.code == "no_match"
    assert isinstance(err.value, ValueError)


def test_empty_ladder_raises():
    with pytest.raises(LadderError) as err:
        evaluate_tier([], Metrics())
    assert err.value.code == "empty_ladder"


def test_evaluate_accepts_a_generator():
    rules = (rule for rule in DEFAULT_LADDER)
    assert evaluate_tier(rules, Metrics(revenue=600_000)).tier_id == B


# --- ladder problems ---------------------------------------------------------


@pytest.mark.parametrize(
    ("rules", "problems"),
    [
        (DEFAULT_LADDER, []),
        (LIFETIME_LADDER, []),
        ([TierRule(1, 1)], []),
        ([], ["no_catch_all"]),
        ([TierRule(1, 2, min_revenue=5)], ["no_catch_all"]),
        ([TierRule(1, 2), TierRule(2, 1)], ["several_catch_all"]),
        ([TierRule(1, 2, min_revenue=-1), TierRule(2, 1)], ["negative_threshold"]),
        ([TierRule(1, 2, min_orders=-1), TierRule(2, 1)], ["negative_threshold"]),
        ([TierRule(1, 2, min_lifetime=-0.01), TierRule(2, 1)], ["negative_threshold"]),
        ([TierRule(1, 2, min_growth=-100), TierRule(2, 1)], []),
        ([TierRule(1, 2, min_growth=-50.5), TierRule(2, 1)], []),
        (
            [TierRule(1, 2, min_growth=-100.01), TierRule(2, 1)],
            ["growth_below_minus_100"],
        ),
        ([TierRule(1, 1, min_revenue=5), TierRule(2, 1)], ["duplicate_rank"]),
        (
            [TierRule(1, 1, min_revenue=-5), TierRule(2, 1, min_growth=-101)],
            [
                "no_catch_all",
                "negative_threshold",
                "growth_below_minus_100",
                "duplicate_rank",
            ],
        ),
    ],
)
def test_ladder_problems(rules, problems):
    assert ladder_problems(rules) == problems


def test_ladder_problems_combined_catch_all_duplicates():
    rules = [TierRule(1, 1), TierRule(2, 1)]
    assert ladder_problems(rules) == ["several_catch_all", "duplicate_rank"]


# --- hypothesis properties ---------------------------------------------------

amounts = st.floats(min_value=-1e7, max_value=1e8, allow_nan=False)
thresholds = st.none() | st.floats(min_value=0, max_value=1e8, allow_nan=False)


@st.composite
def ladders(draw):
    """A ladder of distinct ids with a catch-all (ranks may collide)."""
    size = draw(st.integers(min_value=0, max_value=6))
    ids = draw(
        st.lists(
            st.integers(1, 1000), min_size=size + 1, max_size=size + 1, unique=True
        )
    )
    rules = [TierRule(ids[0], draw(st.integers(-5, 20)))]
    for tier_id in ids[1:]:
        rules.append(
            TierRule(
                tier_id,
                draw(st.integers(-5, 20)),
                min_revenue=draw(thresholds),
                min_growth=draw(st.none() | st.floats(-100, 1000)),
                min_orders=draw(st.none() | st.integers(0, 50)),
                min_lifetime=draw(thresholds),
                require_strategic=draw(st.booleans()),
            )
        )
    return rules


metrics_st = st.builds(
    Metrics,
    revenue=amounts,
    revenue_prev=amounts,
    orders=st.integers(0, 100),
    lifetime=amounts,
    strategic=st.booleans(),
)


@given(ladders(), metrics_st, st.floats(min_value=0, max_value=1e8))
def test_more_revenue_never_lowers_the_tier(rules, metrics, extra):
    richer = Metrics(
        revenue=metrics.revenue + extra,
        revenue_prev=metrics.revenue_prev,
        orders=metrics.orders,
        lifetime=metrics.lifetime,
        strategic=metrics.strategic,
    )
    assert evaluate_tier(rules, richer).rank >= evaluate_tier(rules, metrics).rank


@given(st.data(), ladders(), metrics_st)
def test_result_independent_of_rule_order(data, rules, metrics):
    shuffled = data.draw(st.permutations(rules))
    assert evaluate_tier(shuffled, metrics) == evaluate_tier(rules, metrics)


@given(ladders(), metrics_st)
def test_evaluation_is_deterministic_and_best(rules, metrics):
    best = evaluate_tier(rules, metrics)
    assert evaluate_tier(rules, metrics) == best
    assert rule_matches(best, metrics)
    for rule in rules:
        if rule_matches(rule, metrics):
            assert (rule.rank, -rule.tier_id) <= (best.rank, -best.tier_id)


# --- hysteresis --------------------------------------------------------------

DAY0 = date(2025, 3, 1)


def decide(computed_id, current_id, pending, today, grace=7, **override):
    return decide_tier(
        computed=RULES[computed_id],
        current_tier_id=current_id,
        current_rank=RANKS.get(current_id),
        pending_since=pending,
        today=today,
        grace_days=grace,
        **override,
    )


def test_initial_assignment():
    assert decide(B, None, None, DAY0) == TierDecision(B, None, Cause.INITIAL, False)


def test_upgrade_is_immediate_and_clears_pending():
    result = decide(S, B, DAY0 - timedelta(days=3), DAY0)
    assert result == TierDecision(S, None, Cause.COMPUTED_UP, False)


def test_same_tier_keeps_and_has_no_cause():
    assert decide(B, B, None, DAY0) == TierDecision(B, None, None, False)


def test_downgrade_sequence_with_grace():
    grace = 7
    current, pending = A, None
    history = []
    for offset in range(grace + 2):
        today = DAY0 + timedelta(days=offset)
        result = decide(C, current, pending, today, grace)
        history.append(result)
        current, pending = result.tier_id, result.pending_since
    # day 0: drop detected, pending starts; days 1..6 stay pending
    for result in history[:grace]:
        assert result == TierDecision(A, DAY0, None, False)
    # exactly grace_days after the drop: downgrade
    assert history[grace] == TierDecision(C, None, Cause.COMPUTED_DOWN, False)
    # the day after: settled
    assert history[grace + 1] == TierDecision(C, None, None, False)


def test_recovery_clears_pending():
    first = decide(B, A, None, DAY0)
    assert first == TierDecision(A, DAY0, None, False)
    stay = decide(B, A, first.pending_since, DAY0 + timedelta(days=3))
    assert stay == TierDecision(A, DAY0, None, False)
    recovered = decide(A, A, stay.pending_since, DAY0 + timedelta(days=4))
    assert recovered == TierDecision(A, None, None, False)
    # a new drop restarts the grace period from scratch
    again = decide(B, A, recovered.pending_since, DAY0 + timedelta(days=10))
    assert again == TierDecision(A, DAY0 + timedelta(days=10), None, False)
    assert decide(B, A, again.pending_since, DAY0 + timedelta(days=16)).tier_id == A
    assert decide(B, A, again.pending_since, DAY0 + timedelta(days=17)).tier_id == B


def test_downgrade_target_is_todays_computed_tier():
    # pending started while B was computed, on the last day C is computed
    result = decide(C, A, DAY0, DAY0 + timedelta(days=7))
    assert result == TierDecision(C, None, Cause.COMPUTED_DOWN, False)


def test_upgrade_while_pending_above_current():
    result = decide(S, A, DAY0, DAY0 + timedelta(days=2))
    assert result == TierDecision(S, None, Cause.COMPUTED_UP, False)


def test_grace_zero_downgrades_at_once():
    result = decide(C, S, None, DAY0, grace=0)
    assert result == TierDecision(C, None, Cause.COMPUTED_DOWN, False)


def test_grace_one():
    first = decide(C, S, None, DAY0, grace=1)
    assert first == TierDecision(S, DAY0, None, False)
    second = decide(C, S, DAY0, DAY0 + timedelta(days=1), grace=1)
    assert second == TierDecision(C, None, Cause.COMPUTED_DOWN, False)


def test_negative_grace_raises():
    with pytest.raises(ValueError):
        decide(C, S, None, DAY0, grace=-1)


def test_missing_current_rank_raises():
    with pytest.raises(ValueError):
        decide_tier(
            computed=RULES[C],
            current_tier_id=A,
            current_rank=None,
            pending_since=None,
            today=DAY0,
            grace_days=3,
        )


# --- overrides ---------------------------------------------------------------


def test_override_start_active_and_expiry():
    until = DAY0 + timedelta(days=5)
    ov = {"override_tier_id": S, "override_rank": 4, "override_until": until}
    start = decide(C, B, DAY0 - timedelta(days=2), DAY0, **ov)
    assert start == TierDecision(S, None, Cause.OVERRIDE_SET, True)
    active = decide(C, S, None, DAY0 + timedelta(days=1), **ov)
    assert active == TierDecision(S, None, None, True)
    last_day = decide(C, S, None, until, **ov)
    assert last_day == TierDecision(S, None, None, True)
    # the day after override_until the computed tier applies at once, no grace
    ended = decide(C, S, None, until + timedelta(days=1), grace=30, **ov)
    assert ended == TierDecision(C, None, Cause.OVERRIDE_ENDED, False)


def test_expired_override_equal_to_computed_has_no_cause():
    ov = {"override_tier_id": B, "override_rank": 2, "override_until": DAY0}
    result = decide(B, B, None, DAY0 + timedelta(days=1), **ov)
    assert result == TierDecision(B, None, None, False)


def test_override_without_end_date_never_expires():
    ov = {"override_tier_id": C, "override_rank": 1}
    result = decide(S, C, None, date(2099, 1, 1), **ov)
    assert result == TierDecision(C, None, None, True)


def test_override_can_lower_the_tier_and_applies_on_first_assignment():
    ov = {"override_tier_id": C, "override_rank": 1, "override_until": DAY0}
    assert decide(S, S, None, DAY0, **ov) == TierDecision(
        C, None, Cause.OVERRIDE_SET, True
    )
    assert decide(S, None, None, DAY0, **ov) == TierDecision(
        C, None, Cause.OVERRIDE_SET, True
    )


def test_cause_values():
    assert [c.value for c in Cause] == [
        "initial",
        "computed_up",
        "computed_down",
        "override_set",
        "override_ended",
        "config",
    ]
    assert Cause.CONFIG == "config"


def test_criterion_holds_as_rule_matches_decides():
    """One criterion at a time, as the account review report shows them."""
    new = Metrics(revenue=100.0, revenue_prev=0.0, orders=2, lifetime=100.0)
    assert tiering.criterion_holds("growth", 50.0, new), "from nothing: unbounded"
    assert not tiering.criterion_holds("growth", 50.0, Metrics())
    grown = Metrics(revenue=150.0, revenue_prev=100.0, orders=2, lifetime=300.0)
    assert tiering.criterion_holds("growth", 50.0, grown)
    assert not tiering.criterion_holds("growth", 50.01, grown)
    assert tiering.criterion_holds("revenue", 150.0, grown)
    assert not tiering.criterion_holds("orders", 3, grown)
    assert tiering.criterion_holds("lifetime", 300.0, grown)
    for key, field in (
        ("revenue", "min_revenue"),
        ("growth", "min_growth"),
        ("orders", "min_orders"),
        ("lifetime", "min_lifetime"),
    ):
        for metrics in (new, grown, Metrics()):
            rule = TierRule(tier_id=1, rank=1, **{field: 100.0})
            assert tiering.criterion_holds(key, 100.0, metrics) == rule_matches(
                rule, metrics
            )
