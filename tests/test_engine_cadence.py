"""Tests of the touch cadence: intervals, scheduling, local dates, compliance."""

import calendar
import time
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from customer_tiering_engine import cadence
from customer_tiering_engine.cadence import (
    Compliance,
    TouchToSchedule,
    Unit,
    add_interval,
    compliance,
    local_date,
    next_due,
    touch_to_schedule,
)

# --- add_interval ------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "number", "unit", "times", "expected"),
    [
        (date(2027, 1, 31), 1, Unit.MONTHS, 1, date(2027, 2, 28)),
        (date(2028, 1, 31), 1, Unit.MONTHS, 1, date(2028, 2, 29)),
        (date(2027, 1, 31), 2, Unit.MONTHS, 1, date(2027, 3, 31)),
        (date(2027, 1, 31), 1, Unit.MONTHS, 2, date(2027, 3, 31)),
        (date(2027, 1, 31), 1, Unit.MONTHS, 3, date(2027, 4, 30)),
        (date(2027, 1, 30), 1, Unit.MONTHS, 1, date(2027, 2, 28)),
        (date(2027, 3, 31), 1, Unit.MONTHS, 1, date(2027, 4, 30)),
        (date(2027, 8, 31), 3, Unit.MONTHS, 1, date(2027, 11, 30)),
        (date(2027, 11, 15), 3, Unit.MONTHS, 1, date(2028, 2, 15)),
        (date(2027, 12, 31), 1, Unit.MONTHS, 1, date(2028, 1, 31)),
        (date(2027, 12, 31), 12, Unit.MONTHS, 2, date(2029, 12, 31)),
        (date(2028, 2, 29), 12, Unit.MONTHS, 1, date(2029, 2, 28)),
        (date(2028, 2, 29), 12, Unit.MONTHS, 4, date(2032, 2, 29)),
        (date(2028, 2, 29), 1, Unit.MONTHS, 1, date(2028, 3, 29)),
        (date(2027, 1, 31), 1, "months", 1, date(2027, 2, 28)),
        (date(2027, 1, 1), 1, Unit.WEEKS, 1, date(2027, 1, 8)),
        (date(2027, 12, 29), 2, "weeks", 3, date(2028, 2, 9)),
        (date(2028, 2, 28), 1, Unit.DAYS, 1, date(2028, 2, 29)),
        (date(2027, 2, 28), 1, Unit.DAYS, 1, date(2027, 3, 1)),
        (date(2027, 12, 31), 10, "days", 2, date(2028, 1, 20)),
        (date(2027, 5, 17), 3, Unit.MONTHS, 0, date(2027, 5, 17)),
    ],
)
def test_add_interval(start, number, unit, times, expected):
    assert add_interval(start, number, unit, times) == expected


def test_months_are_anchored_not_chained():
    start = date(2027, 1, 31)
    chained = add_interval(add_interval(start, 1, Unit.MONTHS), 1, Unit.MONTHS)
    assert chained == date(2027, 3, 28)
    assert add_interval(start, 1, Unit.MONTHS, times=2) == date(2027, 3, 31)


@pytest.mark.parametrize(
    ("number", "unit", "times"),
    [(0, Unit.DAYS, 1), (-1, Unit.MONTHS, 1), (1, "years", 1), (1, Unit.WEEKS, -1)],
)
def test_add_interval_invalid(number, unit, times):
    with pytest.raises(ValueError):
        add_interval(date(2027, 1, 1), number, unit, times)


@given(
    st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 12, 31)),
    st.integers(1, 24),
    st.sampled_from(list(Unit)),
    st.integers(0, 40),
)
def test_add_interval_monotonic_in_times(start, number, unit, times):
    first = add_interval(start, number, unit, times)
    second = add_interval(start, number, unit, times + 1)
    assert start <= first < second
    if unit is Unit.MONTHS:
        month_end = calendar.monthrange(second.year, second.month)[1]
        assert second.day == min(start.day, month_end)
        assert (second.year * 12 + second.month) - (first.year * 12 + first.month) == (
            number
        )


# --- next_due / touch_to_schedule --------------------------------------------

START = date(2027, 1, 4)


def test_next_due():
    assert next_due(last_done=None, start=START, number=2, unit=Unit.WEEKS) == START
    done = date(2027, 3, 10)
    assert next_due(last_done=done, start=START, number=2, unit="weeks") == date(
        2027, 3, 24
    )
    assert next_due(
        last_done=date(2027, 1, 31), start=START, number=1, unit=Unit.MONTHS
    ) == date(2027, 2, 28)


def schedule(
    today, last_done=None, lead_days=3, has_open=False, number=1, unit=Unit.WEEKS
):
    return touch_to_schedule(
        last_done=last_done,
        start=START,
        number=number,
        unit=unit,
        lead_days=lead_days,
        today=today,
        has_open=has_open,
    )


def test_lead_time_boundary():
    done = date(2027, 3, 1)  # next due 2027-03-08
    assert schedule(date(2027, 3, 4), done) is None  # 4 days ahead
    assert schedule(date(2027, 3, 5), done) == TouchToSchedule(date(2027, 3, 8), False)
    assert schedule(date(2027, 3, 8), done) == TouchToSchedule(date(2027, 3, 8), False)
    assert schedule(date(2027, 3, 9), done) == TouchToSchedule(date(2027, 3, 8), True)


def test_lead_zero_schedules_on_due_day_only():
    done = date(2027, 3, 1)
    assert schedule(date(2027, 3, 7), done, lead_days=0) is None
    assert schedule(date(2027, 3, 8), done, lead_days=0) == TouchToSchedule(
        date(2027, 3, 8), False
    )


def test_first_touch_due_at_plan_start():
    assert schedule(START - timedelta(days=4)) is None
    assert schedule(START - timedelta(days=3)) == TouchToSchedule(START, False)
    assert schedule(START + timedelta(days=30)) == TouchToSchedule(START, True)


def test_catch_up_after_downtime_gives_one_overdue_touch():
    done = date(2027, 1, 4)
    today = done + timedelta(weeks=10)
    result = schedule(today, done)
    assert result == TouchToSchedule(deadline=date(2027, 1, 11), overdue=True)
    # once that touch is open nothing else is created: no backlog
    assert schedule(today, done, has_open=True) is None
    # when it is done today, the next one is a full interval later
    assert schedule(today, today) is None
    assert schedule(today + timedelta(days=4), today) == TouchToSchedule(
        today + timedelta(weeks=1), False
    )


def test_has_open_blocks_scheduling():
    assert schedule(date(2030, 1, 1), date(2027, 1, 1), has_open=True) is None
    assert schedule(START, has_open=True) is None


def test_schedule_is_idempotent():
    args = {"today": date(2027, 6, 1), "last_done": date(2027, 4, 1)}
    first = schedule(**args, number=1, unit=Unit.MONTHS)
    assert first == TouchToSchedule(date(2027, 5, 1), True)
    assert schedule(**args, number=1, unit=Unit.MONTHS) == first


def test_negative_lead_days_raise():
    with pytest.raises(ValueError):
        schedule(START, lead_days=-1)


@given(
    st.dates(min_value=date(2020, 1, 1), max_value=date(2040, 12, 31)),
    st.dates(min_value=date(2020, 1, 1), max_value=date(2040, 12, 31)),
    st.integers(1, 12),
    st.sampled_from(list(Unit)),
    st.integers(0, 60),
)
def test_deadline_never_before_last_done(last_done, today, number, unit, lead):
    kwargs = {
        "last_done": last_done,
        "start": date(2020, 1, 1),
        "number": number,
        "unit": unit,
        "lead_days": lead,
        "today": today,
        "has_open": False,
    }
    result = touch_to_schedule(**kwargs)
    assert touch_to_schedule(**kwargs) == result
    due = next_due(last_done=last_done, start=kwargs["start"], number=number, unit=unit)
    assert due > last_done
    if result is None:
        assert (due - today).days > lead
    else:
        assert result.deadline == due
        assert result.deadline > last_done
        assert result.overdue == (due < today)
        assert (result.deadline - today).days <= lead


# --- local_date --------------------------------------------------------------


@pytest.mark.parametrize(
    ("moment", "tz_name", "expected"),
    [
        (datetime(2027, 3, 1, 15, 59), "Asia/Shanghai", date(2027, 3, 1)),
        (datetime(2027, 3, 1, 16, 0), "Asia/Shanghai", date(2027, 3, 2)),
        (datetime(2027, 12, 31, 16, 30), "Asia/Shanghai", date(2028, 1, 1)),
        # New York: UTC-5 in winter, UTC-4 in summer
        (datetime(2027, 1, 15, 4, 59), "America/New_York", date(2027, 1, 14)),
        (datetime(2027, 1, 15, 5, 0), "America/New_York", date(2027, 1, 15)),
        (datetime(2027, 7, 15, 3, 59), "America/New_York", date(2027, 7, 14)),
        (datetime(2027, 7, 15, 4, 0), "America/New_York", date(2027, 7, 15)),
        (datetime(2027, 3, 1, 23, 59), None, date(2027, 3, 1)),
        (datetime(2027, 3, 1, 23, 59), "", date(2027, 3, 1)),
        (datetime(2027, 3, 1, 23, 59), "Not/AZone", date(2027, 3, 1)),
        (datetime(2027, 3, 1, 23, 59), "../etc/passwd", date(2027, 3, 1)),
        (datetime(2027, 3, 1, 23, 59), "UTC", date(2027, 3, 1)),
    ],
)
def test_local_date(moment, tz_name, expected):
    assert local_date(moment, tz_name) == expected


@pytest.mark.skipif(not hasattr(time, "tzset"), reason="needs time.tzset")
def test_local_date_ignores_the_server_time_zone(monkeypatch):
    # naive datetimes are UTC whatever the server's local zone
    monkeypatch.setenv("TZ", "Pacific/Kiritimati")  # UTC+14
    time.tzset()
    try:
        assert local_date(datetime(2027, 3, 1, 12, 0), None) == date(2027, 3, 1)
        assert local_date(datetime(2027, 3, 1, 12, 0), "UTC") == date(2027, 3, 1)
    finally:
        monkeypatch.undo()
        time.tzset()


def test_local_date_accepts_aware_datetimes():
    moment = datetime(2027, 3, 1, 20, 0, tzinfo=ZoneInfo("America/New_York"))
    assert local_date(moment, "Asia/Shanghai") == date(2027, 3, 2)
    assert local_date(moment, None) == date(2027, 3, 2)


# --- compliance --------------------------------------------------------------


def test_compliance_counts():
    since, until = date(2027, 1, 1), date(2027, 1, 31)
    touches = [
        (date(2026, 12, 31), date(2026, 12, 31)),  # before the period
        (date(2027, 1, 1), date(2027, 1, 1)),  # first day, on time
        (date(2027, 1, 10), date(2027, 1, 9)),  # early
        (date(2027, 1, 15), date(2027, 1, 16)),  # one day late
        (date(2027, 1, 20), None),  # not done
        (date(2027, 1, 31), date(2027, 1, 31)),  # last day, on time
        (date(2027, 2, 1), date(2027, 2, 1)),  # after the period
    ]
    result = compliance(touches, since=since, until=until)
    assert result == Compliance(due=5, done_on_time=3)
    assert result.rate == 60.0
    tolerant = compliance(touches, since=since, until=until, tolerance_days=1)
    assert tolerant == Compliance(due=5, done_on_time=4)
    assert tolerant.rate == 80.0


def test_compliance_rate():
    assert Compliance(0, 0).rate is None
    assert Compliance(3, 2).rate == 66.7
    assert Compliance(3, 3).rate == 100.0
    assert Compliance(7, 0).rate == 0.0
    assert compliance(iter([]), since=START, until=START) == Compliance(0, 0)


def test_compliance_negative_tolerance_raises():
    with pytest.raises(ValueError):
        compliance([], since=START, until=START, tolerance_days=-1)


def test_module_name():
    assert cadence.__name__ == "customer_tiering_engine.cadence"
    assert Unit("weeks") is Unit.WEEKS


# --- plan scheduling: no lead limit, owners, on time, window ------------------


def test_no_lead_limit_schedules_the_next_touch_at_once():
    done = date(2027, 3, 1)
    assert schedule(done, done, lead_days=None) == TouchToSchedule(
        date(2027, 3, 8), False
    )
    assert schedule(done, done, lead_days=None, number=3, unit=Unit.MONTHS) == (
        TouchToSchedule(date(2027, 6, 1), False)
    )
    assert schedule(done, done, lead_days=None, has_open=True) is None


def test_catch_up_per_line_gives_one_touch_each():
    # three lines of a plan, the scheduler down for 20 weeks: one touch per line
    today = date(2027, 6, 1)
    lines = [(1, Unit.WEEKS), (1, Unit.MONTHS), (3, Unit.MONTHS)]
    touches = [
        touch_to_schedule(
            last_done=date(2027, 1, 4),
            start=START,
            number=number,
            unit=unit,
            lead_days=3,
            today=today,
            has_open=False,
        )
        for number, unit in lines
    ]
    assert [t.deadline for t in touches] == [
        date(2027, 1, 11),
        date(2027, 2, 4),
        date(2027, 4, 4),
    ]
    assert all(t.overdue for t in touches)


@pytest.mark.parametrize(
    ("candidates", "usable", "expected"),
    [
        ([("salesperson", 7), ("team_leader", 8)], {7, 8}, (7, "salesperson", False)),
        ([("salesperson", 7), ("team_leader", 8)], {8}, (8, "team_leader", True)),
        ([("expert", None), ("team_leader", 8)], {7, 8}, (8, "team_leader", True)),
        (
            [("expert", None), ("team_leader", None), ("default", 9)],
            {9},
            (9, "default", True),
        ),
        ([("expert", 7), ("default", 9)], set(), None),
        ([], {1}, None),
    ],
)
def test_pick_owner(candidates, usable, expected):
    owner = cadence.pick_owner(candidates, usable)
    if expected is None:
        assert owner is None
    else:
        assert (owner.user_id, owner.role, owner.fallback) == expected


def test_on_time():
    deadline = date(2027, 3, 8)
    assert cadence.on_time(deadline, deadline)
    assert cadence.on_time(deadline, date(2027, 3, 1))
    assert not cadence.on_time(deadline, date(2027, 3, 9))
    assert cadence.on_time(deadline, date(2027, 3, 9), tolerance_days=1)
    assert not cadence.on_time(deadline, None)
    with pytest.raises(ValueError):
        cadence.on_time(deadline, deadline, tolerance_days=-1)


def test_compliance_window():
    assert cadence.compliance_window(date(2027, 3, 31)) == (
        date(2026, 12, 31),
        date(2027, 3, 30),
    )
    assert cadence.compliance_window(date(2028, 3, 1), days=1) == (
        date(2028, 2, 29),
        date(2028, 2, 29),
    )
    with pytest.raises(ValueError):
        cadence.compliance_window(date(2027, 1, 1), days=0)


@given(
    st.lists(
        st.tuples(
            st.dates(min_value=date(2027, 1, 1), max_value=date(2027, 12, 31)),
            st.one_of(
                st.none(),
                st.dates(min_value=date(2027, 1, 1), max_value=date(2028, 1, 31)),
            ),
        ),
        max_size=30,
    ),
    st.dates(min_value=date(2027, 2, 1), max_value=date(2027, 12, 31)),
)
def test_compliance_is_the_share_on_time_in_the_window(touches, today):
    since, until = cadence.compliance_window(today)
    result = compliance(touches, since=since, until=until)
    inside = [(d, done) for d, done in touches if since <= d < today]
    assert result.due == len(inside)
    assert result.done_on_time == sum(cadence.on_time(d, done) for d, done in inside)
    assert result.rate is None or 0 <= result.rate <= 100


# --- key moments ---------------------------------------------------------------

KeyMomentWindow = cadence.KeyMomentWindow


def test_key_moment_window():
    renewal = date(2027, 3, 1)
    window = cadence.key_moment_window(renewal, 180)
    assert window == KeyMomentWindow(date(2026, 9, 2), renewal)
    assert window.is_open(date(2026, 9, 2))
    assert window.is_open(renewal)
    assert not window.is_open(date(2026, 9, 1))
    assert not window.is_open(date(2027, 3, 2))
    # Never open before the moment was recorded.
    late = cadence.key_moment_window(renewal, 180, recorded_on=date(2027, 1, 10))
    assert late.opens == date(2027, 1, 10)
    early = cadence.key_moment_window(renewal, 180, recorded_on=date(2026, 1, 10))
    assert early.opens == date(2026, 9, 2)
    assert cadence.key_moment_window(renewal, 0, moment_id=7) == KeyMomentWindow(
        renewal, renewal, 7
    )
    with pytest.raises(ValueError):
        cadence.key_moment_window(renewal, -1)


@pytest.mark.parametrize(
    ("normal", "key", "expected"),
    [
        (90, None, 45),
        (91, None, 45),
        (7, None, 3),
        (1, None, 1),
        (2, 0, 1),
        (90, 30, 30),
        (90, 120, 90),  # never slower than the normal rhythm
        (30, 30, 30),
    ],
)
def test_key_moment_days(normal, key, expected):
    assert cadence.key_moment_days(normal, key) == expected


def test_key_moment_days_invalid():
    with pytest.raises(ValueError):
        cadence.key_moment_days(0)
    with pytest.raises(ValueError):
        cadence.key_moment_days(30, -1)


def test_interval_on():
    window = KeyMomentWindow(date(2027, 1, 1), date(2027, 3, 1))
    assert cadence.interval_on(date(2026, 12, 31), 90, None, [window]) == 90
    assert cadence.interval_on(date(2027, 1, 1), 90, None, [window]) == 45
    assert cadence.interval_on(date(2027, 3, 1), 90, 20, [window]) == 20
    assert cadence.interval_on(date(2027, 3, 2), 90, 20, [window]) == 90
    assert cadence.interval_on(date(2027, 2, 1), 90) == 90


def test_next_due_in_an_open_window_uses_the_faster_rhythm():
    last = date(2027, 1, 1)  # quarterly: normally due on 2027-04-01 (90 days)
    quarterly = {"last_done": last, "start": last, "number": 3, "unit": "months"}
    assert next_due(**quarterly) == date(2027, 4, 1)
    renewal = cadence.key_moment_window(date(2027, 6, 30), 180)  # open from 2027-01-01
    assert next_due(**quarterly, windows=[renewal]) == date(2027, 2, 15)  # 45 days
    assert next_due(**quarterly, key_days=30, windows=[renewal]) == date(2027, 1, 31)
    # A window that opens after the key-moment interval: due when it opens.
    later = KeyMomentWindow(date(2027, 3, 10), date(2027, 6, 1))
    assert next_due(**quarterly, windows=[later]) == date(2027, 3, 10)
    # A window that opens after the normal due date changes nothing.
    after = KeyMomentWindow(date(2027, 4, 2), date(2027, 9, 1))
    assert next_due(**quarterly, windows=[after]) == date(2027, 4, 1)
    # A window that closes before the key-moment interval is over neither.
    short = KeyMomentWindow(date(2027, 1, 1), date(2027, 2, 1))
    assert next_due(**quarterly, windows=[short]) == date(2027, 4, 1)
    # The earliest of several windows wins.
    assert next_due(**quarterly, windows=[after, later, renewal]) == date(2027, 2, 15)
    # Before the first touch the plan start applies, window or not.
    first = {**quarterly, "last_done": None}
    assert next_due(**first, windows=[renewal]) == last


def test_touch_to_schedule_with_a_key_moment():
    last = date(2027, 1, 1)
    renewal = cadence.key_moment_window(date(2027, 6, 30), 180)
    args = {
        "last_done": last,
        "start": last,
        "number": 3,
        "unit": "months",
        "lead_days": 3,
        "has_open": False,
    }
    assert touch_to_schedule(**args, today=date(2027, 2, 11)) is None
    assert touch_to_schedule(
        **args, today=date(2027, 2, 12), windows=[renewal]
    ) == TouchToSchedule(date(2027, 2, 15), overdue=False)


def test_moved_deadline():
    normal, due = date(2027, 4, 1), date(2027, 2, 15)
    assert cadence.moved_deadline(normal, due, normal) == due
    # Already earlier (an earlier moment moved it): moved again if later than due.
    assert cadence.moved_deadline(date(2027, 3, 1), due, normal) == due
    assert cadence.moved_deadline(date(2027, 2, 1), due, normal) is None
    assert cadence.moved_deadline(due, due, normal) is None
    # Put off by a user beyond the normal due date: left alone.
    assert cadence.moved_deadline(date(2027, 4, 20), due, normal) is None
    # No key moment: the normal due date, nothing moves.
    assert cadence.moved_deadline(normal, normal, normal) is None


def test_coming_key_moment():
    today = date(2027, 1, 10)
    past = KeyMomentWindow(date(2026, 10, 1), date(2027, 1, 9), 1)
    soon = KeyMomentWindow(date(2026, 12, 1), date(2027, 3, 1), 2)
    later = KeyMomentWindow(date(2027, 2, 1), date(2027, 5, 1), 3)
    assert cadence.coming_key_moment([past, later, soon], today) == soon
    assert cadence.coming_key_moment([past], today) is None
    assert cadence.coming_key_moment([], today) is None
    today_moment = KeyMomentWindow(date(2026, 12, 1), today, 4)
    assert cadence.coming_key_moment([soon, today_moment], today) == today_moment


_windows = st.lists(
    st.builds(
        lambda opens, length: KeyMomentWindow(opens, opens + timedelta(days=length)),
        st.dates(date(2026, 1, 1), date(2028, 12, 31)),
        st.integers(0, 400),
    ),
    max_size=4,
)


@given(
    last_done=st.dates(date(2026, 1, 1), date(2028, 12, 31)),
    number=st.integers(1, 12),
    unit=st.sampled_from(list(Unit)),
    key_days=st.one_of(st.none(), st.integers(0, 400)),
    windows=_windows,
)
def test_key_moments_never_slow_the_rhythm(last_done, number, unit, key_days, windows):
    rhythm = {"last_done": last_done, "start": last_done, "number": number}
    normal = next_due(**rhythm, unit=unit)
    due = next_due(**rhythm, unit=unit, key_days=key_days, windows=windows)
    assert last_done < due <= normal
    normal_days = (normal - last_done).days
    # The default key-moment interval is never longer than the normal one.
    assert cadence.key_moment_days(normal_days) <= normal_days
    # ``due`` is the first day on which the time since the last touch reaches
    # the interval that applies on that day.
    day = last_done + timedelta(days=1)
    while (day - last_done).days < cadence.interval_on(
        day, normal_days, key_days, windows
    ):
        day += timedelta(days=1)
    assert due == day
