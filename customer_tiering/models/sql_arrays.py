# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Batches of values as one PostgreSQL array literal each.

psycopg2 sends a Python list as ``ARRAY[v1, v2, ...]``: one expression per
element, which PostgreSQL parses and plans one by one.  For the refresh's
batches (a thousand ids, or a thousand rows of a bulk UPDATE, one array per
column) that costs more than the statement itself.  ``'{v1,v2,...}'`` is one
string parameter, cast in SQL (``%s::int4[]``), and parsed at once.
:func:`insert_rows` inserts the rows of a model that way (the scheduler's
follow-ups, a backtest's customers).
"""

import datetime
from decimal import Decimal
from itertools import chain

from odoo.tools import SQL, split_every


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


def insert_rows(model, rows):
    """Insert ``rows`` ({field name: value} of stored columns of
    ``model``, the same names in each; the log access columns given too)
    and return the new records, as ``_create`` leaves
    them for the rest of the transaction (not in cache).

    Each column goes as one array literal (``INSERT ... SELECT FROM
    unnest``), or as one value when it is the same in every row (the
    type, the note, the dates...): a VALUES list of 500 rows is ten
    thousand expressions for PostgreSQL to parse and plan, and costs as
    much as the insert itself.  Values that no array literal carries
    (JSON...) go as a VALUES list."""
    names = sorted(rows[0])
    columns = [model._fields[name] for name in names]
    assert all(field.column_type for field in columns), names
    record = model.browse()
    converted = {name: {} for name in names}

    def column(field, chunk):
        # The same note or summary is sanitized once, not per row.
        known = converted[field.name]
        values = []
        for row in chunk:
            value = row[field.name]
            if value not in known:
                known[value] = field.convert_to_column_insert(value, record)
            values.append(known[value])
        return values

    placeholders = "(" + ", ".join(["%s"] * len(names)) + ")"
    ids = []
    for chunk in split_every(500, rows):
        values = [column(field, chunk) for field in columns]
        if all(map(is_plain, chain.from_iterable(values))):
            source = _unnest(columns, values)
        else:
            source = SQL(
                "VALUES %s",
                SQL(", ").join(
                    SQL(placeholders, *row) for row in zip(*values, strict=True)
                ),
            )
        model.env.cr.execute(
            SQL(
                "INSERT INTO %s (%s) %s RETURNING id",
                SQL.identifier(model._table),
                SQL(", ").join(SQL.identifier(name) for name in names),
                source,
            )
        )
        ids.extend(id_ for (id_,) in model.env.cr.fetchall())
    records = model.browse(ids)
    # What _create does after its INSERT, but the cache: other records'
    # fields that depend on these ones, the one2many fields of their
    # many2one fields (an activity list of the customer already read).
    # As _create: every field is new (the stored computed fields not
    # given are computed at the flush); those given are kept.
    with model.env.protecting([f for f in columns if f.compute], records):
        records.modified(model._fields, create=True)
    for field in columns:
        for inverse in model.pool.field_inverses[field]:
            model.env[inverse.model_name].invalidate_model([inverse.name])
    records._validate_fields(names)
    return records


def _unnest(columns, values):
    """``SELECT`` of the rows of ``values`` (one list per field of
    ``columns``): the columns that vary as array literals, the others as
    one value each."""
    varying = [
        index
        for index, column_values in enumerate(values)
        if any(
            value != column_values[0] or type(value) is not type(column_values[0])
            for value in column_values
        )
    ] or [0]
    # The types are the fields' own column types (constants).
    types = [SQL(field.column_type[0]) for field in columns]
    return SQL(
        "SELECT %s FROM unnest(%s) AS v(%s)",
        SQL(", ").join(
            SQL("v.%s", SQL.identifier(field.name))
            if index in varying
            else SQL("%s::%s", values[index][0], types[index])
            for index, field in enumerate(columns)
        ),
        SQL(", ").join(
            SQL("%s::%s[]", array_literal(values[index]), types[index])
            for index in varying
        ),
        SQL(", ").join(SQL.identifier(columns[index].name) for index in varying),
    )
