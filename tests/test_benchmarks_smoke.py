"""Smoke test of the benchmark tools: the generator and the benchmark command
run as subprocesses against a small throwaway database.

Not an Odoo test case: it installs customer_tiering in its own database
(``ct_smoke_<pid>``), fills it with ``benchmarks/generate.py`` (200 customers,
2,000 orders), runs ``benchmarks/bench.py`` on it, checks what they report
and what they wrote, then drops the database.  Speed is not asserted here
(the benchmark itself does that, at scale); only that both tools work and
report every measurement.

It needs the Odoo configuration (``--odoo-config``, which bin/test passes);
without it the test is skipped, which bin/test turns into a failure.
"""

import configparser
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import psycopg2
import pytest

ROOT = Path(__file__).resolve().parents[1]
GENERATE = ROOT / "benchmarks" / "generate.py"
BENCH = ROOT / "benchmarks" / "bench.py"
CUSTOMERS, ORDERS = 200, 2000

BENCH_ROWS = (
    "warm-up: full refresh, committed",
    "floor: one SQL aggregate, all customers",
    "floor: health sources, all customers",
    "floor: one bulk UPDATE of the profiles",
    "**floor total**",
    "**full refresh** (cron, all batches)",
    "naive loop, 40 customers",
    "naive loop, extrapolated to all customers",
    "action_confirm, with the hook: median",
    "action_confirm, hook bypassed: median",
    "follow-up scheduler, first run",
    "follow-up scheduler, second run",
    "**health backtest**, 12 month-ends",
    "Suggest weights (on the live run)",
    "backtest of the suggested draft, same days",
    f"full refresh at {CUSTOMERS} customers",
)
RATIO_TARGETS = (
    "full refresh / floor",
    "naive / full refresh",
    "action_confirm median, hook / bypassed",
    "health backtest, 12 month-ends / full refresh",
    "peak RSS, ",
    "refresh's own memory (peak - RSS before), ",
)


def odoo_config(request):
    try:
        conf = request.config.getoption("--odoo-config")
    except ValueError:  # pytest-odoo is not installed
        conf = None
    if not conf:
        pytest.skip("needs the Odoo configuration: pytest --odoo-config=CONF")
    return conf


def connect(options, dbname):
    return psycopg2.connect(
        dbname=dbname,
        host=options.get("db_host") or None,
        port=options.get("db_port") or None,
        user=options.get("db_user") or None,
        password=None
        if options.get("db_password") in (None, "", "False")
        else options["db_password"],
    )


def run(*command, timeout):
    proc = subprocess.run(
        [sys.executable, *map(str, command)],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert proc.returncode == 0, (
        f"{command} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}"
    )
    return proc.stdout


@pytest.fixture(scope="module")
def smoke_db(request):
    conf = odoo_config(request)
    parser = configparser.ConfigParser()
    parser.read(conf)
    options = dict(parser["options"])
    dbname = f"ct_smoke_{os.getpid()}"
    try:
        run(
            "-m",
            "odoo",
            "-c",
            conf,
            "-d",
            dbname,
            "-i",
            "customer_tiering",
            "--without-demo=all",
            "--stop-after-init",
            "--log-level=warn",
            timeout=900,
        )
        yield conf, dbname, options
    finally:
        admin = connect(options, "postgres")
        admin.autocommit = True
        with admin.cursor() as cr:
            cr.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')
        admin.close()
        if options.get("data_dir"):
            shutil.rmtree(
                Path(options["data_dir"]) / "filestore" / dbname, ignore_errors=True
            )


@pytest.fixture(scope="module")
def generated(smoke_db):
    conf, dbname, __ = smoke_db
    out = run(
        GENERATE,
        "-c",
        conf,
        "-d",
        dbname,
        "--customers",
        CUSTOMERS,
        "--orders",
        ORDERS,
        timeout=600,
    )
    lines = [line for line in out.splitlines() if line.startswith("RESULT ")]
    assert lines, out
    return json.loads(lines[-1][len("RESULT ") :]), out


def test_generator_fills_the_database(smoke_db, generated):
    __, dbname, options = smoke_db
    result, __ = generated
    assert result["customers"] == CUSTOMERS
    assert result["orders"] == ORDERS
    assert 0 < result["contacts"] < CUSTOMERS
    assert 0 < result["overdue_invoices"] <= result["open_invoices"]
    assert result["open_invoices"] < result["invoices"] <= ORDERS
    assert result["touches"] > 0
    with connect(options, dbname) as cnx, cnx.cursor() as cr:
        cr.execute(
            """
            SELECT count(*), count(*) FILTER (WHERE t.on_time),
                   count(*) FILTER (WHERE t.on_time <> (t.date <= t.deadline)),
                   count(*) FILTER (WHERE t.date > current_date
                                      OR t.deadline < current_date - 366),
                   count(DISTINCT t.profile_id)
              FROM customer_touch t
              JOIN customer_profile p ON p.id = t.profile_id
               AND p.partner_id = t.partner_id
              JOIN res_partner c ON c.id = t.partner_id AND c.ref LIKE 'BENCH-%%'
             WHERE t.state = 'done'
            """
        )
        touches, on_time, wrong, out_of_year, customers = cr.fetchone()
        assert touches == result["touches"]
        assert 0.5 < on_time / touches < 0.95
        assert wrong == out_of_year == 0
        assert 0 < customers < CUSTOMERS
        cr.execute(
            "SELECT count(*) FROM customer_profile p JOIN res_partner c "
            "ON c.id = p.partner_id WHERE c.ref LIKE 'BENCH-%%'"
        )
        assert cr.fetchone()[0] == CUSTOMERS
        cr.execute(
            "SELECT count(*) FILTER (WHERE is_company), "
            "count(*) FILTER (WHERE NOT is_company AND parent_id IS NOT NULL) "
            "FROM res_partner WHERE commercial_partner_id IN "
            "(SELECT id FROM res_partner WHERE ref LIKE 'BENCH-%%')"
        )
        assert cr.fetchone() == (CUSTOMERS, result["contacts"])
        cr.execute(
            """
            SELECT count(*), count(DISTINCT p.commercial_partner_id),
                   count(*) FILTER (WHERE so.currency_rate = 1
                                      AND so.amount_total = so.amount_untaxed
                                      AND so.amount_untaxed > 0),
                   count(*) FILTER (WHERE p.id <> p.commercial_partner_id),
                   min(so.date_order) >= now() - interval '25 months'
              FROM sale_order so JOIN res_partner p ON p.id = so.partner_id
             WHERE so.state = 'sale' AND so.name LIKE 'SB%%'
            """
        )
        orders, buyers, valid, by_contacts, in_window = cr.fetchone()
        assert (orders, buyers, valid) == (ORDERS, CUSTOMERS, ORDERS)
        assert by_contacts > 0, "some orders are placed by contacts"
        assert in_window
        # Pareto-like: the fifth of the customers that order most place more
        # than half of the orders.
        cr.execute(
            """
            SELECT sum(n) FROM (
                SELECT count(*) AS n FROM sale_order so
                  JOIN res_partner p ON p.id = so.partner_id
                 WHERE so.name LIKE 'SB%%'
              GROUP BY p.commercial_partner_id ORDER BY n DESC LIMIT %s) top
            """,
            [CUSTOMERS // 5],
        )
        assert cr.fetchone()[0] > ORDERS / 2
        cr.execute(
            """
            SELECT (SELECT count(*) FROM sale_order_line l
                      JOIN sale_order so ON so.id = l.order_id
                     WHERE so.name LIKE 'SB%%'),
                   (SELECT count(*) FROM account_move
                     WHERE move_type = 'out_invoice' AND state = 'posted'
                       AND invoice_origin LIKE 'SB%%'),
                   (SELECT count(*) FROM account_move m
                     WHERE m.invoice_origin LIKE 'SB%%' AND m.amount_total <>
                           (SELECT sum(debit) FROM account_move_line
                             WHERE move_id = m.id)),
                   (SELECT count(*) FROM account_move_line l
                      JOIN account_account a ON a.id = l.account_id
                     WHERE a.account_type = 'asset_receivable'
                       AND l.parent_state = 'posted' AND l.amount_residual > 0
                       AND l.date_maturity < current_date)
            """
        )
        lines, invoices, unbalanced, overdue = cr.fetchone()
        assert (lines, invoices, unbalanced) == (ORDERS, result["invoices"], 0)
        assert overdue == result["overdue_invoices"]
        # Every paid invoice is paid on a day between its date and today,
        # through reconciliations that account for its residual.
        assert result["payments"] == result["invoices"] - result["open_invoices"]
        cr.execute(
            """
            SELECT count(p.move_id),
                   count(*) FILTER (WHERE m.amount_residual
                                    <> m.amount_total - COALESCE(p.paid, 0)),
                   count(*) FILTER (WHERE p.first_day < m.invoice_date
                                       OR p.last_day >= current_date)
              FROM account_move m
              LEFT JOIN (SELECT l.move_id, SUM(r.amount) AS paid,
                                MIN(r.max_date) AS first_day,
                                MAX(r.max_date) AS last_day
                           FROM account_partial_reconcile r
                           JOIN account_move_line l ON l.id = r.debit_move_id
                       GROUP BY l.move_id) p ON p.move_id = m.id
             WHERE m.invoice_origin LIKE 'SB%%'
            """
        )
        assert cr.fetchone() == (result["payments"], 0, 0)


def test_generator_refuses_a_second_run(smoke_db, generated):
    conf, dbname, __ = smoke_db
    proc = subprocess.run(
        [
            sys.executable,
            GENERATE,
            "-c",
            conf,
            "-d",
            dbname,
            "--customers",
            "10",
            "--orders",
            "20",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode != 0
    assert "already holds generated customers" in proc.stderr


def test_bench_reports_every_row_and_ratio(smoke_db, generated):
    conf, dbname, __ = smoke_db
    out = run(
        BENCH,
        "-c",
        conf,
        "-d",
        dbname,
        "--small-db",
        dbname,
        "--naive-sample",
        40,
        "--confirm-orders",
        5,
        "--no-fail",
        timeout=900,
    )
    table = [line for line in out.splitlines() if line.startswith("| ")]
    for label in BENCH_ROWS:
        assert any(line.startswith(f"| {label}") for line in table), (label, out)
    refresh = next(line for line in table if "**full refresh**" in line)
    cells = [cell.strip() for cell in refresh.strip("|").split("|")]
    assert re.fullmatch(r"[\d.]+ m?s", cells[1]), refresh
    assert int(cells[2]) > 0, "queries counted"
    assert re.fullmatch(r"\d+ \(\+\d+\)", cells[3]), "peak RSS reported"
    assert f"{CUSTOMERS} profiles" in cells[4]
    for label in RATIO_TARGETS:
        line = next((row for row in table if row.startswith(f"| {label}")), None)
        assert line, (label, out)
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        assert re.fullmatch(r"\d+(\.\d+)?x", cells[1]), line
        assert float(cells[1][:-1]) > 0
        assert cells[3] in ("PASS", "FAIL"), line
    memory = next(row for row in table if row.startswith("| full refresh peak RSS"))
    assert re.search(r"\| \d+ MB \|", memory)
    scheduler = next(row for row in table if row.startswith("| scheduler second"))
    assert scheduler.rstrip(" |").endswith(("PASS", "FAIL", "N/A"))
    assert re.search(r"^RESULT (PASS|FAIL: .+)$", out, re.M)
    # precision, recall and lead time of the shipped and suggested scorecards
    for label in ("shipped", "suggested"):
        line = next(row for row in table if row.startswith(f"| {label} |"))
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        assert all(re.fullmatch(r"[01]\.\d{3}", c) for c in cells[1:5]), line
        assert re.fullmatch(r"-?\d+ days", cells[5]), line
