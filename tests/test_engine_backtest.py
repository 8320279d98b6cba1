"""Tests of the health backtest: churn labels, metrics and the weight search."""

from datetime import date, timedelta

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from customer_tiering_engine import health
from customer_tiering_engine.backtest import (
    DEFINITION_LABELS,
    FLAG_SET_LABELS,
    FLAG_SETS,
    ChurnRule,
    Confusion,
    Evaluation,
    GroupStats,
    Label,
    Order,
    confusion,
    customer_outcomes,
    is_flagged,
    label_churn,
    label_customer,
    objective,
    reweighted,
    run_backtest,
    suggest_weights,
)

E = date(2025, 6, 30)  # an evaluation day
LAST = date(2026, 12, 31)  # the data's last day


def days(n):
    return timedelta(days=n)


# --- labelling: "inactivity" ----------------------------------------------------


def test_active_customer_without_a_later_order_churned():
    orders = [Order(E - days(100), 50.0), Order(E - days(10), 70.0)]
    assert label_customer(orders, E, LAST) == Label(E, 0, True, E - days(10))


def test_order_on_the_evaluation_day_is_before_it():
    result = label_customer([Order(E, 10.0)], E, LAST)
    assert result == Label(E, 0, True, E)


def test_later_order_within_the_window_is_no_churn():
    orders = [Order(E - days(10), 1.0), Order(E + days(1), 1.0)]
    assert label_customer(orders, E, LAST) == Label(E, 0, False, None)


@pytest.mark.parametrize(
    ("after", "churned"), [(179, False), (180, False), (181, True)]
)
def test_window_after_ends_on_its_last_day(after, churned):
    orders = [Order(E - days(5), 1.0), Order(E + days(after), 1.0)]
    assert label_customer(orders, E, LAST).churned is churned


@pytest.mark.parametrize(("before", "active"), [(0, True), (179, True), (180, False)])
def test_window_before_decides_who_is_active(before, active):
    result = label_customer([Order(E - days(before), 1.0)], E, LAST)
    assert (result is not None) is active


def test_customer_without_orders_or_future_orders_only_is_excluded():
    assert label_customer([], E, LAST) is None
    assert label_customer([Order(E + days(3), 1.0)], E, LAST) is None


@pytest.mark.parametrize(("last_day", "labelled"), [(180, True), (179, False)])
def test_future_must_be_observable(last_day, labelled):
    result = label_customer([Order(E, 1.0)], E, E + days(last_day))
    assert (result is not None) is labelled


def test_windows_are_parameters():
    orders = [Order(E - days(40), 1.0), Order(E + days(40), 1.0)]
    short = ChurnRule(before_days=30, after_days=30)
    assert label_customer(orders, E, LAST, short) is None  # not active
    rule = ChurnRule(before_days=60, after_days=30)
    assert label_customer(orders, E, LAST, rule) == Label(E, 0, True, E - days(40))
    rule = ChurnRule(before_days=60, after_days=40)
    assert label_customer(orders, E, LAST, rule).churned is False


def test_unsorted_orders_are_sorted():
    orders = [Order(E - days(3), 1.0), Order(E - days(90), 1.0)]
    assert label_customer(orders, E, LAST).churn_day == E - days(3)


# --- labelling: "revenue" -------------------------------------------------------

REVENUE = ChurnRule(definition="revenue", revenue_pct=50)


@pytest.mark.parametrize(
    ("after", "churned"), [(499.99, True), (500.0, False), (2000.0, False)]
)
def test_revenue_below_the_share_of_before_churned(after, churned):
    orders = [
        Order(E - days(170), 600.0),
        Order(E - days(2), 400.0),
        Order(E + days(90), after),
    ]
    result = label_customer(orders, E, LAST, REVENUE)
    assert result.churned is churned
    assert result.churn_day == (E - days(2) if churned else None)


def test_revenue_windows_use_the_same_boundaries():
    orders = [
        Order(E - days(180), 10_000.0),  # outside the window before
        Order(E - days(179), 100.0),
        Order(E + days(180), 50.0),  # last day of the window after
        Order(E + days(181), 10_000.0),  # outside it
    ]
    assert label_customer(orders, E, LAST, REVENUE).churned is False
    strict = ChurnRule(definition="revenue", revenue_pct=51)
    assert label_customer(orders, E, LAST, strict).churned is True


def test_revenue_definition_churns_when_orders_stop():
    orders = [Order(E - days(20), 100.0)]
    assert label_customer(orders, E, LAST, REVENUE) == Label(E, 0, True, E - days(20))
    assert label_customer(orders, E, E + days(100), REVENUE) is None


@pytest.mark.parametrize(
    "kwargs",
    [
        {"definition": "nope"},
        {"before_days": 0},
        {"after_days": 0},
        {"revenue_pct": 0},
        {"revenue_pct": 101},
    ],
)
def test_invalid_rule(kwargs):
    with pytest.raises(ValueError):
        ChurnRule(**kwargs)


def test_label_churn_keys_and_exclusions():
    histories = {
        1: [Order(E - days(5), 1.0)],
        2: [Order(E - days(5), 1.0), Order(E + days(5), 1.0)],
        3: [Order(E - days(400), 1.0)],
    }
    pairs = [(E, 1), (E, 2), (E, 3), (E, 4), (LAST, 1)]
    labels = label_churn(histories, pairs, LAST)
    assert labels == {
        (E, 1): Label(E, 1, True, E - days(5)),
        (E, 2): Label(E, 2, False, None),
    }


def test_definitions_and_flag_sets_have_labels():
    assert set(DEFINITION_LABELS) == {"inactivity", "revenue"}
    assert set(FLAG_SET_LABELS) == set(FLAG_SETS)
    assert DEFINITION_LABELS["inactivity"] % {"days": 180} == (
        "No confirmed order in the 180 days after"
    )


# --- metrics on a hand-computed example -----------------------------------------

D1, D2 = date(2025, 1, 1), date(2025, 2, 1)


def ev(day, partner, band, tier="gold", reasons=()):
    return Evaluation(day, partner, tier, band, None, {}, reasons)


EVALUATIONS = [
    ev(D1, 1, "at_risk", reasons=("recency", "frequency")),
    ev(D2, 1, "at_risk", reasons=("recency",)),
    ev(D1, 2, "watch", tier="silver"),
    ev(D2, 2, "healthy", tier="silver"),
    ev(D1, 3, "healthy"),
    ev(D2, 3, "at_risk", reasons=("payment_delay",)),
    ev(D1, 4, "at_risk"),  # not labelled
]
LABELS = {
    (D1, 1): Label(D1, 1, False, None),
    (D2, 1): Label(D2, 1, True, date(2025, 1, 20)),
    (D1, 2): Label(D1, 2, True, date(2024, 12, 15)),
    (D2, 2): Label(D2, 2, True, date(2024, 12, 15)),
    (D1, 3): Label(D1, 3, False, None),
    (D2, 3): Label(D2, 3, False, None),
}


def test_confusion_by_hand():
    at_risk = confusion(EVALUATIONS, LABELS)
    assert at_risk == Confusion(tp=1, fp=2, fn=2, tn=1)
    assert at_risk.precision == pytest.approx(1 / 3)
    assert at_risk.recall == pytest.approx(1 / 3)
    wide = confusion(EVALUATIONS, LABELS, "at_risk_or_watch")
    assert wide == Confusion(tp=2, fp=2, fn=1, tn=1)
    assert (wide.precision, wide.recall) == (0.5, pytest.approx(2 / 3))


def test_backtest_by_hand():
    report = run_backtest(EVALUATIONS, LABELS, horizon=90)
    assert report.overall == {
        "at_risk": Confusion(1, 2, 2, 1),
        "at_risk_or_watch": Confusion(2, 2, 1, 1),
    }
    assert report.days == {
        D1: {
            "at_risk": Confusion(0, 1, 1, 1),
            "at_risk_or_watch": Confusion(1, 1, 0, 1),
        },
        D2: {
            "at_risk": Confusion(1, 1, 1, 0),
            "at_risk_or_watch": Confusion(1, 1, 1, 0),
        },
    }
    assert report.bands == {
        "at_risk": GroupStats(3, 1),
        "watch": GroupStats(1, 1),
        "healthy": GroupStats(2, 1),
    }
    assert report.bands["at_risk"].churn_share == pytest.approx(1 / 3)
    assert report.tiers == {"gold": GroupStats(4, 1), "silver": GroupStats(2, 2)}
    assert [tuple(o) for o in report.customers] == [
        (1, True, date(2025, 1, 20), D1, 19, ("recency", "frequency"), "gold"),
        (2, True, date(2024, 12, 15), None, None, (), "silver"),
        (3, False, None, D2, None, ("payment_delay",), "gold"),
    ]
    assert (report.churners, report.caught) == (2, 1)
    assert report.lead_time_days == 19
    assert report.missed_share == 0.5
    assert report.never_flagged_share == 0.5


def test_horizon_limits_the_counting_flags():
    report = run_backtest(EVALUATIONS, LABELS, horizon=12)
    # Customer 1: flagged 19 days before and 12 days after its churn day.
    first = report.customers[0]
    assert (first.flagged_on, first.lead_days, first.reasons) == (D2, -12, ("recency",))
    report = run_backtest(EVALUATIONS, LABELS, horizon=11)
    assert report.customers[0].flagged_on is None
    assert (report.caught, report.lead_time_days) == (0, None)
    assert report.missed_share == 1.0
    assert report.never_flagged_share == 0.5  # customer 1 was flagged, too late


def test_lead_time_is_the_median_over_caught_churners():
    churn_day = date(2025, 5, 1)
    evaluations, labels = [], {}
    for partner, flag_before in enumerate((60, 30, 10, -20), start=1):
        flag_day = churn_day - days(flag_before)
        evaluations.append(ev(flag_day, partner, "at_risk"))
        labels[(flag_day, partner)] = Label(flag_day, partner, False, None)
        after = churn_day + days(31)
        evaluations.append(ev(after, partner, "at_risk"))
        labels[(after, partner)] = Label(after, partner, True, churn_day)
    report = run_backtest(evaluations, labels)
    assert [o.lead_days for o in report.customers] == [60, 30, 10, -20]
    assert report.lead_time_days == 20


def test_first_churn_of_a_returning_customer_counts():
    evaluations = [ev(D1, 1, "at_risk"), ev(D2, 1, "watch")]
    labels = {
        (D2, 1): Label(D2, 1, True, date(2025, 1, 25)),
        (D1, 1): Label(D1, 1, True, date(2024, 12, 1)),
    }
    outcome = customer_outcomes(evaluations, labels)[0]
    assert (outcome.churn_day, outcome.lead_days) == (date(2024, 12, 1), -31)
    assert (
        customer_outcomes(evaluations, labels, flag_set="at_risk_or_watch")[
            0
        ].flagged_on
        == D1
    )


def test_negative_horizon_refused():
    with pytest.raises(ValueError):
        customer_outcomes(EVALUATIONS, LABELS, horizon=-1)


def test_empty_backtest():
    report = run_backtest([], {})
    assert report.overall["at_risk"] == Confusion()
    assert report.overall["at_risk"].precision is None
    assert report.overall["at_risk"].recall is None
    assert (report.lead_time_days, report.missed_share) == (None, None)
    assert report.customers == ()


# --- metric properties ------------------------------------------------------------

bands = st.sampled_from(["healthy", "watch", "at_risk", None])
cases = st.lists(st.tuples(bands, st.booleans()), min_size=1, max_size=60)


def build(case):
    evaluations, labels = [], {}
    for partner, (band, churned) in enumerate(case):
        evaluations.append(ev(D1, partner, band))
        labels[(D1, partner)] = Label(D1, partner, churned, D1 if churned else None)
    return evaluations, labels


@given(cases)
def test_flagging_everyone_has_recall_one(case):
    evaluations, labels = build([("at_risk", churned) for __, churned in case])
    result = confusion(evaluations, labels)
    if result.churned:
        assert result.recall == 1.0
        assert result.precision == result.churned / result.total
    else:
        assert result.recall is None
        assert result.precision == 0.0


@given(cases, st.sampled_from(["healthy", None]))
def test_flagging_no_one_has_recall_zero(case, band):
    evaluations, labels = build([(band, churned) for __, churned in case])
    for flag_set in FLAG_SETS:
        result = confusion(evaluations, labels, flag_set)
        assert result.precision is None
        assert result.recall == (0.0 if result.churned else None)
        assert objective(result, 0.0) == 0.0


@given(cases)
def test_precision_and_recall_are_shares(case):
    evaluations, labels = build(case)
    report = run_backtest(evaluations, labels)
    for flag_set, result in report.overall.items():
        assert result == confusion(evaluations, labels, flag_set)
        assert result.total == len(case)
        for share in (result.precision, result.recall):
            assert share is None or 0.0 <= share <= 1.0
    narrow, wide = report.overall["at_risk"], report.overall["at_risk_or_watch"]
    assert wide.tp >= narrow.tp and wide.flagged >= narrow.flagged
    assert sum(g.count for g in report.bands.values()) == len(case)
    assert report.churners == sum(churned for __, churned in case)


def test_is_flagged():
    assert is_flagged("at_risk") and not is_flagged("watch")
    assert is_flagged("watch", "at_risk_or_watch")
    assert not is_flagged(None, "at_risk_or_watch")


# --- weight search -----------------------------------------------------------------

RECENCY = health.Dimension("recency", 1.0, good=30, bad=180)
SATISFACTION = health.Dimension("satisfaction", 9.0, good=5, bad=1)
OFF = health.Dimension("payment_delay", 3.0, good=0, bad=0, enabled=False)


def raw_case():
    """Churners: no order for 200 days, middling satisfaction; others ordered
    today, half of them very unhappy.  Weighed on satisfaction, the unhappy
    loyal customers are flagged and the churners are not."""
    evaluations, labels = [], {}
    for partner in range(40):
        churner = partner < 20
        raw = (
            {"recency": 200.0, "satisfaction": 3.0}
            if churner
            else {"recency": 0.0, "satisfaction": 1.0 if partner % 2 else 5.0}
        )
        evaluations.append(Evaluation(D1, partner, None, None, None, raw, ()))
        labels[(D1, partner)] = Label(D1, partner, churner, D1 if churner else None)
    return evaluations, labels


def rescored(scorecard, evaluations, labels, cutoffs=(70.0, 40.0)):
    """Confusion of "at_risk" re-scored with health.compute_health."""
    bands_of = [
        health.band(health.compute_health(scorecard, e.raw).score, *cutoffs)
        for e in evaluations
    ]
    flagged = [
        Evaluation(e.day, e.partner_id, e.tier, b, None, e.raw, ())
        for e, b in zip(evaluations, bands_of, strict=True)
    ]
    return confusion(flagged, labels)


def test_suggest_weights_finds_the_predictive_dimension():
    evaluations, labels = raw_case()
    scorecard = [RECENCY, SATISFACTION, OFF]
    assert rescored(scorecard, evaluations, labels) == Confusion(0, 10, 20, 10)
    found = suggest_weights(scorecard, evaluations, labels, min_recall=0.5)
    assert found.start_result == Confusion(0, 10, 20, 10)
    assert found.start_objective == -1.0
    assert found.result == Confusion(20, 0, 0, 20)
    assert found.objective == 1.0
    assert set(found.weights) == {"recency", "satisfaction"}
    assert sum(found.weights.values()) == pytest.approx(100, abs=0.05)
    assert found.weights["recency"] > 40
    # The metrics are those of the real scoring with the returned weights.
    new = reweighted(scorecard, found.weights)
    assert rescored(new, evaluations, labels) == found.result
    assert new[2] == OFF
    assert found.sampled == 40
    assert found.candidates > 1


def test_suggest_weights_is_deterministic_and_subsamples():
    evaluations, labels = raw_case()
    scorecard = [RECENCY, SATISFACTION]
    first = suggest_weights(scorecard, evaluations, labels, sample_size=15, seed=3)
    again = suggest_weights(scorecard, evaluations, labels, sample_size=15, seed=3)
    assert first == again
    assert first.sampled == 15
    # Scored on all 40 evaluations in the end.
    assert first.result.total == first.start_result.total == 40


def test_suggest_weights_keeps_a_start_that_cannot_be_beaten():
    evaluations, labels = raw_case()
    scorecard = [health.Dimension("recency", 9.0, good=30, bad=180), SATISFACTION]
    found = suggest_weights(scorecard, evaluations, labels, min_recall=1.0)
    assert found.start_objective == found.objective == 1.0
    assert found.weights == {"recency": 9.0, "satisfaction": 9.0}


def test_suggest_weights_validates():
    evaluations, labels = raw_case()
    with pytest.raises(health.HealthConfigError):
        suggest_weights([health.Dimension("recency", 0, 1, 2)], evaluations, labels)
    with pytest.raises(ValueError):
        suggest_weights([RECENCY], evaluations, labels, min_recall=1.5)
    with pytest.raises(ValueError):
        suggest_weights([RECENCY], evaluations, labels, cutoffs=(40.0, 70.0))


KEYS = ("recency", "frequency", "satisfaction")
SCORECARD = (
    health.Dimension("recency", 15, good=30, bad=180),
    health.Dimension("frequency", 10, good=0, bad=-50),
    health.Dimension("satisfaction", 10, good=5, bad=1),
)
raw_value = st.one_of(st.none(), st.floats(min_value=-100, max_value=300))
evaluation_rows = st.lists(
    st.tuples(st.fixed_dictionaries(dict.fromkeys(KEYS, raw_value)), st.booleans()),
    min_size=1,
    max_size=40,
)


NONE = {"recency": None, "frequency": None, "satisfaction": None}


@settings(max_examples=30)
# A sample of 5 of these 8 that prefers other weights than all 8 do.
@example(
    rows=[(NONE, False)] * 5
    + [
        ({**NONE, "satisfaction": 0.0}, True),
        ({**NONE, "recency": 0.0, "satisfaction": 0.0}, False),
        ({**NONE, "recency": 0.0, "satisfaction": 0.0}, True),
    ],
    weights=[0.0, 0.0, 0.0],
    share=0.0,
    sample=5,
)
@given(
    evaluation_rows,
    st.lists(st.sampled_from([0.0, 1.0, 5.0, 20.0]), min_size=3, max_size=3),
    st.floats(min_value=0, max_value=1),
    st.sampled_from([5, 1000]),
)
def test_suggest_weights_never_worse_than_the_start(rows, weights, share, sample):
    scorecard = tuple(
        health.Dimension(dim.key, w, dim.good, dim.bad)
        for dim, w in zip(SCORECARD, weights, strict=True)
    )
    if not any(weights):
        scorecard = SCORECARD
    evaluations, labels = [], {}
    for partner, (raw, churned) in enumerate(rows):
        evaluations.append(Evaluation(D1, partner, None, None, None, raw, ()))
        labels[(D1, partner)] = Label(D1, partner, churned, None)
    start = rescored(scorecard, evaluations, labels)
    min_recall = (start.recall or 0.0) * share  # the start satisfies it
    found = suggest_weights(
        scorecard,
        evaluations,
        labels,
        min_recall=min_recall,
        sample_size=sample,
        restarts=1,
        max_rounds=2,
    )
    assert found.start_result == start
    assert found.start_objective == objective(start, min_recall) >= 0
    assert found.objective >= found.start_objective
    new = reweighted(scorecard, found.weights)
    assert rescored(new, evaluations, labels) == found.result


def test_score_on_the_watch_threshold_is_not_at_risk():
    scorecard = [RECENCY]
    evaluations = [
        Evaluation(D1, 1, None, None, None, {"recency": 120.0}, ()),  # 40.0
        Evaluation(D1, 2, None, None, None, {"recency": 120.1}, ()),  # 39.9
    ]
    labels = {(D1, p): Label(D1, p, True, D1) for p in (1, 2)}
    found = suggest_weights(scorecard, evaluations, labels, min_recall=0.0)
    assert found.start_result == Confusion(tp=1, fp=0, fn=1, tn=0)
    assert rescored(scorecard, evaluations, labels) == found.start_result
