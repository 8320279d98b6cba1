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


def _element(value):
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, int | float | Decimal):
        return repr(value) if isinstance(value, float) else str(value)
    if isinstance(value, datetime.date):
        return value.isoformat()
    text = str(value).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{text}"'


def array_literal(values):
    """``values`` (numbers, booleans, dates, strings or None) as the text of
    a PostgreSQL array, to pass as one parameter and cast in the query."""
    return "{" + ",".join(map(_element, values)) + "}"
