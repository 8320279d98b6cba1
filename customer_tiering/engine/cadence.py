"""Touch-point cadence: due dates, scheduling without backlog, compliance."""

from __future__ import annotations

import calendar
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


class Unit(StrEnum):
    """Interval unit of a cadence."""

    DAYS = "days"
    WEEKS = "weeks"
    MONTHS = "months"


def add_interval(start: date, number: int, unit: Unit | str, times: int = 1) -> date:
    """Add ``times`` intervals of ``number`` ``unit`` to ``start``.

    Months are computed in one step from the anchor day of ``start`` and clamped
    to the month end (Jan 31 + 1 month = Feb 28/29, + 2 months = Mar 31).
    """
    unit = Unit(unit)
    if number < 1:
        raise ValueError("number must be >= 1")
    if times < 0:
        raise ValueError("times must be >= 0")
    count = number * times
    if unit is Unit.DAYS:
        return start + timedelta(days=count)
    if unit is Unit.WEEKS:
        return start + timedelta(weeks=count)
    year, month0 = divmod(start.year * 12 + start.month - 1 + count, 12)
    day = min(start.day, calendar.monthrange(year, month0 + 1)[1])
    return date(year, month0 + 1, day)


@dataclass(frozen=True)
class KeyMomentWindow:
    """The days on which a key moment (a contract renewal, a large project...)
    raises the rhythm: from ``opens`` to ``closes`` (the moment's day), both
    included.  ``moment_id`` lets the caller tell which moment it is."""

    opens: date
    closes: date
    moment_id: int | None = None

    def is_open(self, day: date) -> bool:
        """True when the faster rhythm applies on ``day``."""
        return self.opens <= day <= self.closes


def key_moment_window(
    moment_date: date,
    window_days: int,
    recorded_on: date | None = None,
    moment_id: int | None = None,
) -> KeyMomentWindow:
    """The window of a key moment on ``moment_date``: the ``window_days`` days
    before it and the day itself.

    The window never opens before the moment was recorded (``recorded_on``):
    a moment nobody knew of made no touch due, so recording a renewal late
    never makes a follow-up overdue in the past.
    """
    if window_days < 0:
        raise ValueError("window_days must be >= 0")
    opens = moment_date - timedelta(days=window_days)
    if recorded_on is not None and recorded_on > opens:
        opens = recorded_on
    return KeyMomentWindow(opens=opens, closes=moment_date, moment_id=moment_id)


def key_moment_days(normal_days: int, key_days: int | None = None) -> int:
    """Days between touches while a key-moment window is open.

    ``key_days`` (the plan line's key-moment interval), empty: half the
    normal interval of ``normal_days``.  At least one day, and never longer
    than the normal interval: a key moment raises the rhythm, never lowers it.
    """
    if normal_days < 1:
        raise ValueError("normal_days must be >= 1")
    if key_days is not None and key_days < 0:
        raise ValueError("key_days must be >= 0")
    days = key_days or normal_days // 2
    return min(max(days, 1), normal_days)


def interval_on(
    day: date,
    normal_days: int,
    key_days: int | None = None,
    windows: Iterable[KeyMomentWindow] = (),
) -> int:
    """The interval in days that applies on ``day``: the key-moment interval
    while a key-moment window is open, else the normal one."""
    if any(window.is_open(day) for window in windows):
        return key_moment_days(normal_days, key_days)
    return normal_days


def coming_key_moment(
    windows: Iterable[KeyMomentWindow], today: date
) -> KeyMomentWindow | None:
    """The next key moment on or after ``today`` (the earliest; on a tie the
    one whose window opened first), or None."""
    coming = [window for window in windows if window.closes >= today]
    return min(coming, key=lambda w: (w.closes, w.opens), default=None)


def next_due(
    *,
    last_done: date | None,
    start: date,
    number: int,
    unit: Unit | str,
    key_days: int | None = None,
    windows: Iterable[KeyMomentWindow] = (),
) -> date:
    """Next due date: ``start`` before the first touch, else the first day on
    which the time since the last touch reaches the interval that applies on
    that day (see :func:`interval_on`).

    Without key moments that is one interval later.  With them it is never
    later: the key-moment interval after the last touch, or the day a window
    opens if that is later, provided the window is still open then.
    ``key_days``: the key-moment interval (empty: half the normal one).
    """
    if last_done is None:
        return start
    normal = add_interval(last_done, number, unit)
    windows = tuple(windows)
    if not windows:
        return normal
    fast = last_done + timedelta(
        days=key_moment_days((normal - last_done).days, key_days)
    )
    due = normal
    for window in windows:
        day = max(fast, window.opens)
        if day <= window.closes and day < due:
            due = day
    return due


def moved_deadline(open_deadline: date, due: date, normal_due: date) -> date | None:
    """The new deadline of an open follow-up when a key moment made its touch
    due earlier (``due``) than the normal rhythm (``normal_due``), else None.

    A follow-up only moves earlier, and only from a deadline the plan set (on
    or before ``normal_due``): one a user put off beyond it is left alone.
    """
    if due < normal_due and due < open_deadline <= normal_due:
        return due
    return None


@dataclass(frozen=True)
class TouchToSchedule:
    """A touch the caller should create."""

    deadline: date
    overdue: bool


def touch_to_schedule(
    *,
    last_done: date | None,
    start: date,
    number: int,
    unit: Unit | str,
    lead_days: int | None,
    today: date,
    has_open: bool,
    key_days: int | None = None,
    windows: Iterable[KeyMomentWindow] = (),
) -> TouchToSchedule | None:
    """Return the single touch to schedule now, or None.

    Nothing while a touch is open. A touch is scheduled once its due date is at
    most ``lead_days`` away (``None``: whatever its distance, as right after the
    previous touch was completed); after downtime exactly one overdue touch
    (deadline = the missed due date) is returned, never a backlog.  Key-moment
    ``windows`` bring the due date earlier (see :func:`next_due`).
    """
    if lead_days is not None and lead_days < 0:
        raise ValueError("lead_days must be >= 0")
    if has_open:
        return None
    due = next_due(
        last_done=last_done,
        start=start,
        number=number,
        unit=unit,
        key_days=key_days,
        windows=windows,
    )
    if lead_days is not None and (due - today).days > lead_days:
        return None
    return TouchToSchedule(deadline=due, overdue=due < today)


def local_date(moment: datetime, tz_name: str | None) -> date:
    """Date of ``moment`` (naive = UTC, as Odoo stores it) in time zone ``tz_name``.

    A missing or unknown zone falls back to UTC.
    """
    try:
        zone = ZoneInfo(tz_name) if tz_name else UTC
    except (ZoneInfoNotFoundError, ValueError, OSError):
        zone = UTC
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(zone).date()


@dataclass(frozen=True)
class Owner:
    """Who gets a touch: a user id and the role it was chosen for."""

    user_id: int
    role: str
    fallback: bool


def pick_owner(
    candidates: Iterable[tuple[str, int | None]], usable: Iterable[int]
) -> Owner | None:
    """First usable user among ``candidates`` (``(role, user_id)`` by preference).

    The first candidate is the owner the plan asks for; any later one is a
    fallback (its ``fallback`` flag is set). None when nobody is usable.
    """
    usable = set(usable)
    for index, (role, user_id) in enumerate(candidates):
        if user_id and user_id in usable:
            return Owner(user_id=user_id, role=role, fallback=index > 0)
    return None


def on_time(deadline: date, done: date | None, tolerance_days: int = 0) -> bool:
    """A touch is on time when done no later than ``deadline + tolerance_days``."""
    if tolerance_days < 0:
        raise ValueError("tolerance_days must be >= 0")
    return done is not None and done <= deadline + timedelta(days=tolerance_days)


@dataclass(frozen=True)
class Compliance:
    """Touches due in a period and how many were done on time."""

    due: int
    done_on_time: int

    @property
    def rate(self) -> float | None:
        """Percentage done on time (1 decimal), None when nothing was due."""
        if self.due == 0:
            return None
        return round(self.done_on_time / self.due * 100, 1)


def compliance_window(today: date, days: int = 90) -> tuple[date, date]:
    """Deadlines that count for compliance on ``today``: the last ``days`` days.

    Touches due today are still in time, so the window ends yesterday.
    """
    if days < 1:
        raise ValueError("days must be >= 1")
    return today - timedelta(days=days), today - timedelta(days=1)


def compliance(
    touches: Iterable[tuple[date, date | None]],
    *,
    since: date,
    until: date,
    tolerance_days: int = 0,
) -> Compliance:
    """Count touches with a deadline in [since, until] and those done in time.

    A touch is on time when done no later than ``deadline + tolerance_days``.
    """
    if tolerance_days < 0:
        raise ValueError("tolerance_days must be >= 0")
    due = done = 0
    for deadline, done_date in touches:
        if since <= deadline <= until:
            due += 1
            done += on_time(deadline, done_date, tolerance_days)
    return Compliance(due=due, done_on_time=done)
