# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""One bad customer never stops a batch: how the nightly crons and the
refresh hooks isolate failures.

The happy path stays bulk: the batch runs as one unit inside a savepoint.  A
concurrency error (serialization failure, deadlock, lock not available: a user
confirmed an order of a customer of the batch meanwhile) rolls the savepoint
back and retries the batch, a few times, after a short and growing pause.  Any
other error, or a conflict that outlives the retries, rolls the batch back and
runs it again unit by unit, each in its own savepoint: the good units are
stored, the failed ones are returned to the caller, which logs them on the
customer and moves on.

Plain functions over a cursor and a list of units (ids): the crons and the
hooks share them, and they hold no rule of their own.
"""

import logging
import random
import time

import psycopg2

from odoo.exceptions import UserError
from odoo.service.model import PG_CONCURRENCY_ERRORS_TO_RETRY

_logger = logging.getLogger(__name__)

# Tries of one unit of work on a concurrency error, and the first pause
# (seconds, doubled at each try, with jitter so that two colliding jobs do not
# collide again).
TRIES = 3
BACKOFF = 0.05


def is_conflict(error):
    """Whether ``error`` is a concurrency error, worth retrying as it is."""
    return (
        isinstance(error, psycopg2.Error)
        and error.pgcode in PG_CONCURRENCY_ERRORS_TO_RETRY
    )


def attempt(cr, work, *args, tries=TRIES, backoff=BACKOFF, fresh_transaction=False):
    """``work(*args)`` inside a savepoint of ``cr``; concurrency errors are
    retried (``tries`` in all) after a pause.  Returns ``(result, None)``, or
    ``(None, error)`` once the work failed for good (everything it did is
    rolled back).

    ``fresh_transaction``: the work is all the transaction holds since its
    last commit (a cron's batch), so a retry may roll the whole transaction
    back and see what the concurrent transaction committed; within one
    snapshot (REPEATABLE READ), a serialization failure would only repeat.
    """
    for number in range(1, tries + 1):
        try:
            with cr.savepoint():
                return work(*args), None
        except Exception as error:  # pylint: disable=broad-except
            # Whatever failed, the savepoint undid it; the caller decides.
            if not is_conflict(error) or number == tries:
                return None, error
            if fresh_transaction:
                cr.rollback()
            pause = backoff * 2 ** (number - 1) * (1 + random.random())
            _logger.info(
                "customer_tiering: concurrent update (%s), retry %s in %.2f s",
                error.pgcode,
                number,
                pause,
            )
            time.sleep(pause)
    return None, None  # not reached: the last try returns


def isolate(cr, units, work, *, tries=TRIES, backoff=BACKOFF, fresh_transaction=False):
    """Run ``work(units)`` as one unit (see ``attempt``); when it fails, run
    ``work([unit])`` for each unit, each in its own savepoint.

    Returns ``{unit: error}`` for the units that failed (empty when the batch
    went through); the others are stored.
    """
    units = list(units)
    if not units:
        return {}
    __, error = attempt(
        cr,
        work,
        units,
        tries=tries,
        backoff=backoff,
        fresh_transaction=fresh_transaction,
    )
    if error is None:
        return {}
    if len(units) == 1:
        return {units[0]: error}
    _logger.warning(
        "customer_tiering: a batch of %s failed (%s); retrying it one by one",
        len(units),
        error_text(error),
    )
    failed = {}
    for unit in units:
        __, error = attempt(cr, work, [unit], tries=tries, backoff=backoff)
        if error is not None:
            failed[unit] = error
    return failed


def error_text(error):
    """What the customer's profile shows of ``error``: a user error's own
    (translated) message, else the exception's type and message."""
    if isinstance(error, UserError):
        return str(error.args[0] if error.args else error).strip()[:2000]
    return f"{type(error).__name__}: {str(error).strip()}"[:2000]
