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


def _format_of(kind):
    """How a value of type ``kind`` reads in an array literal."""
    format_ = _FORMATS.get(kind)
    if format_ is None:
        if issubclass(kind, bool):
            format_ = _FORMATS[bool]
        elif issubclass(kind, float):
            format_ = repr
        elif issubclass(kind, int | Decimal):
            format_ = str
        elif issubclass(kind, datetime.date):
            format_ = kind.isoformat
        else:
            format_ = _text
    return format_


def is_plain(value):
    """Whether an array literal carries ``value`` as it is (a number, a
    boolean, a date, a string or None; not a JSON value, nor a list)."""
    return value is None or isinstance(value, _PLAIN)


_PLAIN = (bool, int, float, Decimal, datetime.date, str)


def array_literal(values):
    """``values`` (numbers, booleans, dates, strings or None) as the text of
    a PostgreSQL array, to pass as one parameter and cast in the query.

    The format is looked up once per type of the batch (a column of a
    thousand values has one or two types), not once per value."""
    values = values if isinstance(values, list | tuple) else list(values)
    formats = {kind: _format_of(kind) for kind in set(map(type, values))}
    if len(formats) == 1:
        [format_] = formats.values()
        return "{" + ",".join(map(format_, values)) + "}"
    return "{" + ",".join([formats[type(value)](value) for value in values]) + "}"
