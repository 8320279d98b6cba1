# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Batches of values as one PostgreSQL array literal each.

psycopg2 sends a Python list as ``ARRAY[v1, v2, ...]``: one expression per
element, which PostgreSQL parses and plans one by one.  For the refresh's
batches (a thousand ids, or a thousand rows of a bulk UPDATE, one array per
column) that costs more than the statement itself.  ``'{v1,v2,...}'`` is one
string parameter, cast in SQL (``%s::int4[]``), and parsed at once.
"""

import datetime
from decimal import Decimal


def _text(value):
    text = str(value).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{text}"'


# How each type of value reads in an array literal (looked up by exact type:
# a batch converts hundreds of thousands of values).
_FORMATS = {
    type(None): lambda value: "NULL",
    bool: lambda value: "t" if value else "f",
    int: str,
    float: repr,
    Decimal: str,
    datetime.date: datetime.date.isoformat,
    datetime.datetime: datetime.datetime.isoformat,
    str: _text,
}


def _element(value):
    format_ = _FORMATS.get(type(value))
    if format_ is None:
        if isinstance(value, bool):
            format_ = _FORMATS[bool]
        elif isinstance(value, int | float | Decimal):
            format_ = repr if isinstance(value, float) else str
        elif isinstance(value, datetime.date):
            format_ = datetime.date.isoformat
        else:
            format_ = _text
    return format_(value)


def is_plain(value):
    """Whether an array literal carries ``value`` as it is (a number, a
    boolean, a date, a string or None; not a JSON value, nor a list)."""
    return value is None or isinstance(value, _PLAIN)


_PLAIN = (bool, int, float, Decimal, datetime.date, str)


def array_literal(values):
    """``values`` (numbers, booleans, dates, strings or None) as the text of
    a PostgreSQL array, to pass as one parameter and cast in the query."""
    return "{" + ",".join(map(_element, values)) + "}"
