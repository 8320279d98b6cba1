"""Tests of the refresh's evaluate step: one entry point over a batch."""

from datetime import date, timedelta

from hypothesis import given
from hypothesis import strategies as st

from customer_tiering_engine import health, refresh, tiering
from customer_tiering_engine.health import Facts
from customer_tiering_engine.refresh import Customer, Settings, State

TODAY = date(2026, 6, 15)
S, A, C = 1, 2, 3
LADDER = (
    tiering.TierRule(S, 30, min_revenue=1_000_000),
    tiering.TierRule(A, 20, min_revenue=100_000),
    tiering.TierRule(C, 10),
)
SETTINGS = Settings(
    rules=LADDER, grace_days=30, scorecard=health.DEFAULT_SCORECARD, drop_points=15
)


def customer(partner_id=1, state=None, **facts):
    return Customer(partner_id, partner_id + 100, state or State(), Facts(**facts))


def one(cust, today=TODAY, settings=SETTINGS):
    (outcome,) = refresh.evaluate(settings, [cust], today)
    return outcome


def test_first_evaluation_takes_the_computed_tier_and_a_monthly_snapshot():
    o = one(customer(revenue=150_000, orders=2, last_order_date=TODAY))
    assert (o.computed_tier_id, o.tier_id, o.tier_cause) == (A, A, "initial")
    assert o.from_tier_id is None and not o.override_active
    assert o.snapshot == "monthly" and o.warning is None
    assert o.band_changed and o.health_band is not None
    assert (o.partner_id, o.profile_id) == (1, 101)


def test_downgrade_waits_for_the_grace_period():
    state = State(tier_id=A, tier_rank=20)
    o = one(customer(state=state, revenue=10))
    assert (o.computed_tier_id, o.tier_id, o.tier_cause) == (C, A, None)
    assert o.pending_since == TODAY
    later = state._replace(pending_since=TODAY - timedelta(days=30))
    o = one(customer(state=later, revenue=10))
    assert (o.tier_id, o.tier_cause, o.pending_since) == (C, "computed_down", None)
    assert o.from_tier_id == A


def test_expired_override_applies_the_computed_tier_and_is_cleared():
    state = State(
        tier_id=S, tier_rank=30, override_tier_id=S, override_until=TODAY - timedelta(1)
    )
    o = one(customer(state=state, revenue=10))
    assert (o.tier_id, o.tier_cause, o.override_ended) == (C, "override_ended", True)
    active = state._replace(override_until=TODAY)
    o = one(customer(state=active, revenue=10))
    assert (o.tier_id, o.tier_cause, o.override_active, o.override_ended) == (
        S,
        None,
        True,
        False,
    )


def test_score_is_the_health_engines():
    facts = Facts(
        last_order_date=TODAY - timedelta(days=100),
        orders=1,
        orders_prev=3,
        revenue=50,
        revenue_prev=100,
        receivable=1000,
        overdue=400,
        overdue_days=20,
        review={"satisfaction": 2},
        review_date=TODAY - timedelta(days=3),
    )
    o = one(Customer(1, 2, State(), facts))
    expected = health.compute_health(
        health.DEFAULT_SCORECARD, health.raw_values(facts, TODAY)
    )
    assert o.health_score == expected.score
    assert o.health_band == health.band(expected.score)
    assert o.reasons == tuple(c.key for c in health.top_reasons(expected))
    assert refresh.raw_of(o.health_data) == {
        c.key: c.raw for c in expected.contributions
    }
    assert o.health_data["review_date"] == "2026-06-12"
    assert refresh.missing_of(o.health_data) == [
        d.key for d in health.DEFAULT_SCORECARD if d.key in expected.missing
    ]
    assert list(o.health_data["raw"]) == [d.key for d in health.DEFAULT_SCORECARD]


def test_band_change_snapshot_warning_and_open_warning():
    past = ((TODAY - timedelta(days=3), 80.0),)
    state = State(health_score=80.0, health_band="healthy", history=past)
    o = one(customer(state=state, last_order_date=TODAY - timedelta(days=400)))
    assert o.health_band == "at_risk"
    assert (o.snapshot, o.warning, o.warning_peak) == ("band", "entered_at_risk", 80.0)
    o = one(
        customer(
            state=state._replace(open_warning=True),
            last_order_date=TODAY - timedelta(days=400),
        )
    )
    assert o.warning is None, "one open warning at a time"


def test_second_evaluation_of_the_day_rewrites_the_days_snapshot():
    o1 = one(customer(revenue=150_000, orders=2, last_order_date=TODAY))
    state = State(
        tier_id=o1.tier_id,
        tier_rank=20,
        health_score=o1.health_score,
        health_band=o1.health_band,
        history=((TODAY, o1.health_score),),
    )
    o2 = one(customer(state=state, revenue=150_000, orders=2, last_order_date=TODAY))
    assert o2.snapshot == refresh.REWRITE
    assert not o2.band_changed and o2.tier_cause is None


def test_explanation_keeps_the_facts_no_order_changes():
    facts = Facts(
        last_order_date=TODAY,
        orders=4,
        revenue=99.0,
        receivable=10.0,
        overdue=5.0,
        overdue_activities=2,
        engagement=75.0,
        touches=4,
        negative_touches=1,
        review={"satisfaction": 4},
        review_date=TODAY,
        lifetime=1000.0,
    )
    data = one(Customer(1, 2, State(), facts)).health_data
    order_facts = {name: getattr(facts, name) for name in health.ORDER_FACTS}
    assert refresh.facts_from_explanation(data, **order_facts) == facts
    assert refresh.facts_from_explanation({"dims": []}) is None, "older explanation"


amounts = st.floats(min_value=0, max_value=5e6, allow_nan=False)
# Through a lambda: hypothesis fills only the fields named here.
facts_strategy = st.builds(
    lambda **values: Facts(**values),
    last_order_date=st.one_of(
        st.none(), st.integers(0, 900).map(lambda d: TODAY - timedelta(days=d))
    ),
    orders=st.integers(0, 50),
    orders_prev=st.integers(0, 50),
    revenue=amounts,
    revenue_prev=amounts,
    receivable=st.one_of(st.none(), amounts),
    overdue_activities=st.integers(0, 9),
    touches=st.integers(0, 9),
    lifetime=amounts,
)
states = st.builds(
    lambda **values: State(**values),
    tier_id=st.sampled_from([None, S, A, C]),
    health_score=st.one_of(st.none(), st.floats(0, 100)),
    health_band=st.sampled_from([None, "healthy", "watch", "at_risk"]),
)


@given(st.lists(st.tuples(states, facts_strategy), min_size=1, max_size=8))
def test_a_batch_is_its_customers_evaluated_one_by_one(items):
    batch = [Customer(i, i, s, f) for i, (s, f) in enumerate(items)]
    together = refresh.evaluate(SETTINGS, batch, TODAY)
    alone = [one(c) for c in batch]
    assert together == alone
    for o in together:
        assert o.tier_id in (S, A, C) and o.computed_tier_id in (S, A, C)
        assert o.health_score is None or 0 <= o.health_score <= 100
