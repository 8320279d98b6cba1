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


def next_due(
    *, last_done: date | None, start: date, number: int, unit: Unit | str
) -> date:
    """Next due date: ``start`` before the first touch, else one interval later."""
    if last_done is None:
        return start
    return add_interval(last_done, number, unit)


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
) -> TouchToSchedule | None:
    """Return the single touch to schedule now, or None.

    Nothing while a touch is open. A touch is scheduled once its due date is at
    most ``lead_days`` away (``None``: whatever its distance, as right after the
    previous touch was completed); after downtime exactly one overdue touch
    (deadline = the missed due date) is returned, never a backlog.
    """
    if lead_days is not None and lead_days < 0:
        raise ValueError("lead_days must be >= 0")
    if has_open:
        return None
    due = next_due(last_done=last_done, start=start, number=number, unit=unit)
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
