#!/usr/bin/env python3
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Fill a database that has customer_tiering installed with benchmark data.

    python3 benchmarks/generate.py -c CONF -d DB [--customers 100000]
        [--orders 1000000] [--months 24] [--seed 42] [--churn 0.08]
        [--silent-churn 0.3]

Creates, for the main company and in its currency:

- N companies (customers) and contacts for a fifth of them;
- M confirmed sales orders over the last ``--months`` months, one line each,
  spread over the customers with a Pareto-like law (a fifth of the customers
  place about two thirds of the orders and bring about 85 % of the revenue),
  some customers lapsed (no order for a year), some new;
- one posted customer invoice per order older than a week (a product line
  and a receivable line with ``date_maturity`` and ``amount_residual``); most
  are paid, the recent ones and those of slow payers are open, so some are
  overdue.  A paid invoice was paid 5 to 45 days after its date (slow
  payers: 20 to 110 days), before today: its receivable line is reconciled
  (``account.partial.reconcile`` dated that day) with the credit line of one
  payment entry per customer in the bank journal, so that the open amount
  of any past day can be reconstructed, as in a real database;
- a tiering profile per customer, and follow-ups (``customer.touch``) over
  the last year for the customers who still order, with an outcome (mostly
  positive or neutral, some negative);
- churners (``--churn``, a share of all customers, taken from those who
  order over the whole period): each stops ordering on a day 190 to 330
  days ago (so that a backtest over the last year sees the stop and the 180
  days of silence after it) and keeps its order count (the orders are spread
  over its active period; one falls on the stop day).  Most show precursors
  of a random strength ``s`` (0.3 to 1) over the 90 days before the stop:
  each order of that window moves earlier with probability ``0.75 s``
  (falling frequency), invoices of the 120 days before the stop stay unpaid
  with probability ``0.7 s`` (overdue), follow-ups due in the window are
  missed with probability ``0.5 s`` or done late with probability ``0.5 s``,
  and their outcome is negative with probability ``0.6 s``; the others
  (``--silent-churn``, default 30 %) stop without warning.  Their follow-ups
  stop at the stop day.

Rows are generated in PostgreSQL (``INSERT ... SELECT`` over a small
per-customer table copied from Python) in one transaction; the secondary
indexes of the four big tables are dropped and rebuilt around the inserts,
which is several times faster than maintaining them row by row.  Orders are
inserted in date order so that a customer's orders are spread over the table
as in a real database.  Odoo's API is only used to find the ids of the
company, currency, product, journal, accounts and payment term.

The last line printed is ``RESULT {json}`` with the counts.
"""

import argparse
import io
import json
import random
import sys
import time

import odoo
from odoo import SUPERUSER_ID, api
from odoo.modules.registry import Registry

MARKER = "BENCH-"  # res_partner.ref prefix of the generated customers
BIG_TABLES = (
    "sale_order",
    "sale_order_line",
    "account_move",
    "account_move_line",
    "account_partial_reconcile",
)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("-c", "--config", required=True, help="Odoo configuration")
    parser.add_argument("-d", "--database", required=True)
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--months", type=int, default=24)
    parser.add_argument(
        "--contacts",
        type=float,
        default=0.2,
        help="share of the customers that get a contact person (default 0.2)",
    )
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument(
        "--churn",
        type=float,
        default=0.08,
        help="share of the customers that stop ordering (default 0.08)",
    )
    parser.add_argument(
        "--silent-churn",
        type=float,
        default=0.3,
        help="share of the churners without precursors (default 0.3)",
    )
    args = parser.parse_args(argv)
    if args.customers < 1 or args.orders < args.customers:
        parser.error("need at least one customer and one order per customer")
    if not (0 <= args.churn < 1 and 0 <= args.silent_churn <= 1):
        parser.error("--churn must be in [0, 1), --silent-churn in [0, 1]")
    return args


class Clock:
    """Prints how long each step took."""

    def __init__(self):
        self.start = self.last = time.monotonic()

    def step(self, label):
        now = time.monotonic()
        print(f"  {label:<48} {now - self.last:7.1f} s", flush=True)
        self.last = now

    def total(self):
        return time.monotonic() - self.start


def pareto(rnd, alpha, cap):
    """A Pareto(alpha) draw >= 1, capped."""
    return min(cap, (1.0 - rnd.random()) ** (-1.0 / alpha))


# Churners stop ordering between these many days ago: late enough that the
# 180 days after the stop are in the data, early enough that the 90 days of
# precursors before it are in the last year (the follow-ups' period).
CHURN_STOP_AGO = (190, 330)
PRECURSOR_DAYS = 90


def customer_plan(
    n_customers, n_orders, days, contacts, seed, churn=0.0, silent_churn=0.3
):
    """Per customer: order count, order size, active period, flags.

    Returns a list of tuples ``(idx, n_orders, base_amount, first_ago,
    last_ago, has_contact, strategic, slow_payer, churner, strength)``; the
    counts sum to ``n_orders`` exactly.  ``round(churn * n_customers)``
    churners (at most all the candidates: customers ordering over the whole
    period, at least three orders) get a stop day as ``last_ago`` and a
    precursor ``strength`` (0 for the ``silent_churn`` share, else 0.3 to 1;
    None for the others).  The churners are drawn from a second random
    stream: the other columns do not depend on ``churn``.
    """
    rnd = random.Random(seed)
    weights = [pareto(rnd, 1.3, 500) for _ in range(n_customers)]
    total = sum(weights)
    counts = [max(1, int(w * n_orders / total)) for w in weights]
    # Hand out (or take back) the rounding difference, one order at a time.
    diff = n_orders - sum(counts)
    while diff:
        i = rnd.randrange(n_customers)
        if diff > 0:
            counts[i] += 1
            diff -= 1
        elif counts[i] > 1:
            counts[i] -= 1
            diff += 1
    plan = []
    for idx, (weight, count) in enumerate(zip(weights, counts, strict=True)):
        base = round(1500 * weight**0.3 * pareto(rnd, 2.5, 20), 2)
        kind = rnd.random()
        if kind < 0.12:  # lapsed: nothing in the last year
            first, last = days, min(days, 366 + rnd.randrange(max(days - 365, 1)))
        elif kind < 0.22:  # new: started in the last nine months
            first, last = min(days, 30 + rnd.randrange(245)), 0
        else:
            first, last = days, 0
        plan.append(
            (
                idx,
                count,
                base,
                first,
                min(last, first),
                rnd.random() < contacts,
                rnd.random() < 0.01,
                rnd.random() < 0.1,
                False,
                None,
            )
        )
    low, high = CHURN_STOP_AGO[0], min(CHURN_STOP_AGO[1], days - PRECURSOR_DAYS)
    if churn <= 0 or high < low:
        return plan
    crnd = random.Random(seed + 1)
    candidates = [
        row[0] for row in plan if row[3] == days and row[4] == 0 and row[1] >= 3
    ]
    for idx in sorted(
        crnd.sample(candidates, min(len(candidates), round(churn * n_customers)))
    ):
        strength = 0.0 if crnd.random() < silent_churn else crnd.uniform(0.3, 1.0)
        row = plan[idx]
        plan[idx] = (
            *row[:4],
            crnd.randint(low, high),
            *row[5:8],
            True,
            round(strength, 3),
        )
    return plan


def copy_rows(cr, table, columns, rows):
    """COPY plain Python rows (None -> NULL) into ``table``."""
    buf = io.StringIO()
    for row in rows:
        buf.write(
            "\t".join(
                "\\N"
                if value is None
                else ("t" if value else "f")
                if isinstance(value, bool)
                else str(value)
                for value in row
            )
        )
        buf.write("\n")
    buf.seek(0)
    cr._obj.copy_expert(f"COPY {table} ({', '.join(columns)}) FROM STDIN", buf)


def reserve_ids(cr, table, count):
    """First id of a block of ``count`` ids taken from ``table``'s sequence."""
    cr.execute("SELECT pg_get_serial_sequence(%s, 'id')", [table])
    seq = cr.fetchone()[0]
    cr.execute("SELECT nextval(%s)", [seq])
    first = cr.fetchone()[0]
    cr.execute("SELECT setval(%s, %s)", [seq, first + max(count, 1) - 1])
    return first


def drop_indexes(cr, tables):
    """Drop the secondary (non-constraint) indexes of ``tables``; return their
    definitions to rebuild them."""
    cr.execute(
        """
        SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid)
          FROM pg_index i
         WHERE i.indrelid = ANY(%s::regclass[])
           AND NOT EXISTS (SELECT 1 FROM pg_constraint c
                            WHERE c.conindid = i.indexrelid)
        """,
        [list(tables)],
    )
    indexes = cr.fetchall()
    for name, __ in indexes:
        cr.execute(f"DROP INDEX {name}")  # name from the catalog
    return [definition for __, definition in indexes]


def check_foreign_keys(cr, tables, first_ids):
    """Set-based check of every single-column foreign key of the new rows.

    The inserts run with ``session_replication_role = replica``, which skips
    the per-row foreign key triggers (they cost more than the inserts
    themselves); one anti-join per key then proves the rows are valid.
    """
    cr.execute(
        """
        SELECT c.conrelid::regclass::text, a.attname, c.confrelid::regclass::text,
               fa.attname
          FROM pg_constraint c
          JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
          JOIN pg_attribute fa
            ON fa.attrelid = c.confrelid AND fa.attnum = c.confkey[1]
         WHERE c.contype = 'f' AND c.conrelid = ANY(%s::regclass[])
           AND array_length(c.conkey, 1) = 1
        """,
        [list(tables)],
    )
    broken = []
    for table, column, ftable, fcolumn in cr.fetchall():
        # Identifiers read from the catalog above.
        new_rows = "t.id >= %s" if table in first_ids else "%s = 0"
        cr.execute(
            f"""
            SELECT count(*) FROM {table} t
             WHERE {new_rows} AND t."{column}" IS NOT NULL
               AND NOT EXISTS (SELECT 1 FROM {ftable} f
                                WHERE f."{fcolumn}" = t."{column}")
            """,
            [first_ids.get(table, 0)],
        )
        if cr.fetchone()[0]:
            broken.append(f"{table}.{column}")
    if broken:
        sys.exit(f"Generated rows break foreign keys: {', '.join(broken)}")


def lookup(env, company):
    """Ids of the records the generated rows point to."""
    product = env["product.product"].search(
        [("default_code", "=", "BENCH-SERVICE")], limit=1
    )
    if not product:
        product = env["product.product"].create(
            {
                "name": "Benchmark Service",
                "default_code": "BENCH-SERVICE",
                "type": "service",
                "invoice_policy": "order",
                "list_price": 100.0,
                "taxes_id": [(5, 0, 0)],
            }
        )
    journal = env["account.journal"].search(
        [("type", "=", "sale"), *env["account.journal"]._check_company_domain(company)],
        limit=1,
    )
    bank = env["account.journal"].search(
        [("type", "=", "bank"), *env["account.journal"]._check_company_domain(company)],
        limit=1,
    )
    receivable = (
        env["res.partner"]
        .with_company(company)
        .new({"name": "x"})
        .property_account_receivable_id
    )
    income = (
        product.product_tmpl_id.with_company(company)._get_product_accounts()["income"]
        or journal.default_account_id
    )
    if not (journal and bank.default_account_id and receivable and income):
        sys.exit("The company needs a chart of accounts (sale journal, accounts).")
    term = env.ref("account.account_payment_term_30days", raise_if_not_found=False)
    team = env["crm.team"].search([("company_id", "in", [company.id, False])], limit=1)
    pricelist = env["product.pricelist"].search(
        [("company_id", "in", [company.id, False])], limit=1
    )
    return {
        "company_id": company.id,
        "currency_id": company.currency_id.id,
        "country_id": company.country_id.id or None,
        "product_id": product.id,
        "product_name": product.display_name,
        "uom_id": product.uom_id.id,
        "journal_id": journal.id,
        "bank_journal_id": bank.id,
        "bank_account_id": bank.default_account_id.id,
        "receivable_id": receivable.id,
        "income_id": income.id,
        "term_id": term.id if term else None,
        "user_id": env.ref("base.user_admin").id,
        "team_id": team.id or None,
        "pricelist_id": pricelist.id or None,
    }


def insert_partners(cr, ids, plan, n_customers):
    n_contacts = sum(1 for row in plan if row[5])
    base = reserve_ids(cr, "res_partner", n_customers + n_contacts)
    cr.execute(
        """
        CREATE TEMP TABLE bench_customer (
            idx int PRIMARY KEY, n_orders int, base numeric, first_ago int,
            last_ago int, has_contact bool, strategic bool, slow bool,
            churner bool, strength float8, partner_id int, contact_id int
        ) ON COMMIT DROP
        """
    )
    copy_rows(
        cr,
        "bench_customer",
        (
            "idx",
            "n_orders",
            "base",
            "first_ago",
            "last_ago",
            "has_contact",
            "strategic",
            "slow",
            "churner",
            "strength",
        ),
        plan,
    )
    cr.execute("UPDATE bench_customer SET partner_id = %s + idx", [base])
    cr.execute(
        """
        UPDATE bench_customer c SET contact_id = %(base)s + %(n)s + k.rn - 1
          FROM (SELECT idx, row_number() OVER (ORDER BY idx) AS rn
                  FROM bench_customer WHERE has_contact) k
         WHERE k.idx = c.idx
        """,
        {"base": base, "n": n_customers},
    )
    common = """
        create_uid, write_uid, create_date, write_date, active, type, lang,
        partner_share, customer_rank, supplier_rank, autopost_bills, color,
        employee, country_id
    """
    values = """
        %(uid)s, %(uid)s, now() at time zone 'UTC', now() at time zone 'UTC',
        true, 'contact', 'en_US', true, 1, 0, 'ask', 0, false, %(country_id)s
    """
    cr.execute(
        f"""
        INSERT INTO res_partner (id, name, complete_name, ref, email, is_company,
               commercial_partner_id, commercial_company_name, customer_strategic,
               {common})
        SELECT c.partner_id, 'Bench Customer ' || lpad(c.idx::text, 6, '0'),
               'Bench Customer ' || lpad(c.idx::text, 6, '0'),
               %(marker)s || lpad(c.idx::text, 6, '0'),
               'customer' || c.idx || '@bench.example.com', true, c.partner_id,
               'Bench Customer ' || lpad(c.idx::text, 6, '0'), c.strategic,
               {values}
          FROM bench_customer c ORDER BY c.idx
        """,
        {"marker": MARKER, "uid": ids["user_id"], "country_id": ids["country_id"]},
    )
    cr.execute(
        f"""
        INSERT INTO res_partner (id, name, complete_name, email, is_company,
               parent_id, commercial_partner_id, commercial_company_name,
               customer_strategic, {common})
        SELECT c.contact_id, 'Contact ' || lpad(c.idx::text, 6, '0'),
               'Bench Customer ' || lpad(c.idx::text, 6, '0') || ', Contact '
                   || lpad(c.idx::text, 6, '0'),
               'contact' || c.idx || '@bench.example.com', false, c.partner_id,
               c.partner_id, 'Bench Customer ' || lpad(c.idx::text, 6, '0'), false,
               {values}
          FROM bench_customer c WHERE c.has_contact ORDER BY c.idx
        """,
        {"uid": ids["user_id"], "country_id": ids["country_id"]},
    )
    cr.execute("ANALYZE bench_customer")
    return base, n_contacts


def insert_orders(cr, ids, n_orders):
    """Orders (in date order) and their single lines.

    An order falls on a day drawn uniformly over its customer's active
    period; a churner's first order falls on its stop day, and each of its
    orders drawn in the precursor window (the 90 days before the stop)
    moves, with probability ``0.75 * strength``, to a day drawn over the
    rest of the period.
    """
    cr.execute(
        """
        CREATE TEMP TABLE bench_order ON COMMIT DROP AS
        SELECT row_number() OVER (ORDER BY s.d, s.buyer) - 1 AS rn, s.*
          FROM (
            SELECT a.partner_id, a.slow, a.churner, a.strength, a.last_ago,
                   CASE WHEN a.has_contact AND random() < 0.5 THEN a.contact_id
                        ELSE a.partner_id END AS buyer,
                   (current_date - CASE
                        WHEN a.churner AND a.n = 1 THEN a.last_ago
                        WHEN a.churner AND a.ago < a.last_ago + %(window)s
                             AND a.r_move < 0.75 * a.strength
                        THEN a.last_ago + %(window)s + floor(a.r_day
                             * (a.first_ago - a.last_ago - %(window)s + 1))::int
                        ELSE a.ago END)::timestamp
                       + interval '7 hours' + random() * interval '10 hours' AS d,
                   round((a.base * (0.3 + 1.4 * random()))::numeric, 2) AS amount,
                   random() AS r
              FROM (
                -- Volatile select list: evaluated once per order.
                SELECT c.*, g.n,
                       c.last_ago + floor(random()
                           * (c.first_ago - c.last_ago + 1))::int AS ago,
                       random() AS r_move, random() AS r_day
                  FROM bench_customer c
                 CROSS JOIN LATERAL generate_series(1, c.n_orders) AS g(n)
              ) a
          ) s
        """,
        {"window": PRECURSOR_DAYS},
    )
    so_base = reserve_ids(cr, "sale_order", n_orders)
    sol_base = reserve_ids(cr, "sale_order_line", n_orders)
    params = dict(ids, so_base=so_base, sol_base=sol_base)
    cr.execute(
        """
        INSERT INTO sale_order (id, name, company_id, partner_id, partner_invoice_id,
               partner_shipping_id, date_order, state, currency_id, currency_rate,
               amount_untaxed, amount_tax, amount_total, pricelist_id,
               payment_term_id, user_id, team_id, invoice_status, locked,
               require_signature, require_payment, prepayment_percent,
               create_uid, write_uid, create_date, write_date)
        SELECT %(so_base)s + o.rn, 'SB' || lpad((o.rn + 1)::text, 7, '0'),
               %(company_id)s, o.buyer, o.buyer, o.buyer, o.d, 'sale',
               %(currency_id)s, 1.0, o.amount, 0, o.amount, %(pricelist_id)s,
               %(term_id)s, %(user_id)s, %(team_id)s,
               CASE WHEN o.d < current_date - 7 THEN 'invoiced' ELSE 'to invoice' END,
               false, false, false, 1.0, %(user_id)s, %(user_id)s, o.d, o.d
          FROM bench_order o ORDER BY o.rn
        """,
        params,
    )
    cr.execute(
        """
        INSERT INTO sale_order_line (id, order_id, sequence, company_id, currency_id,
               order_partner_id, salesman_id, product_id, product_uom, state,
               qty_delivered_method, invoice_status, name, product_uom_qty,
               price_unit, discount, price_subtotal, price_total,
               price_reduce_taxexcl, price_reduce_taxinc, price_tax,
               technical_price_unit, qty_delivered, qty_invoiced, qty_to_invoice,
               untaxed_amount_invoiced, untaxed_amount_to_invoice,
               is_downpayment, is_expense, customer_lead, product_packaging_qty,
               create_uid, write_uid, create_date, write_date)
        SELECT %(sol_base)s + o.rn, %(so_base)s + o.rn, 10, %(company_id)s,
               %(currency_id)s, o.buyer, %(user_id)s, %(product_id)s, %(uom_id)s,
               'sale', 'manual', v.status, %(product_name)s, 1, o.amount, 0,
               o.amount, o.amount, o.amount, o.amount, 0, o.amount, 0, v.qty,
               1 - v.qty, o.amount * v.qty, o.amount * (1 - v.qty), false, false,
               0, 0, %(user_id)s, %(user_id)s, o.d, o.d
          FROM bench_order o
         CROSS JOIN LATERAL (
               SELECT CASE WHEN o.d < current_date - 7 THEN 1 ELSE 0 END AS qty,
                      CASE WHEN o.d < current_date - 7 THEN 'invoiced'
                           ELSE 'to invoice' END AS status) v
         ORDER BY o.rn
        """,
        params,
    )
    return so_base, sol_base


def insert_invoices(cr, ids, so_base, sol_base):
    """One posted invoice per order older than a week: product line and
    receivable line; recent and slow payers' invoices stay open, and a
    churner's invoices of the 120 days before its stop with probability
    ``0.7 * strength``."""
    cr.execute(
        """
        CREATE TEMP TABLE bench_invoice ON COMMIT DROP AS
        SELECT o.rn, row_number() OVER (ORDER BY o.rn) - 1 AS irn,
               o.partner_id, o.buyer, o.amount, o.d::date AS inv_date, o.slow,
               row_number() OVER (PARTITION BY date_part('year', o.d)
                                  ORDER BY o.rn) AS seq,
               'INV/' || date_part('year', o.d) || '/' AS prefix,
               NOT ((o.d >= current_date - 45 AND o.r < 0.7)
                    OR (o.slow AND o.d >= current_date - 180 AND o.r < 0.8)
                    OR (o.churner
                        AND o.d >= current_date - (o.last_ago + %(days)s)
                        AND o.r < 0.7 * o.strength))
                   AS paid
          FROM bench_order o
         WHERE o.d < current_date - 7
        """,
        {"days": PRECURSOR_DAYS + 30},
    )
    cr.execute("SELECT count(*) FROM bench_invoice")
    count = cr.fetchone()[0]
    move_base = reserve_ids(cr, "account_move", count)
    line_base = reserve_ids(cr, "account_move_line", 2 * count)
    params = dict(
        ids,
        so_base=so_base,
        sol_base=sol_base,
        move_base=move_base,
        line_base=line_base,
    )
    cr.execute(
        """
        INSERT INTO account_move (id, name, sequence_prefix, sequence_number,
               journal_id, company_id, currency_id, partner_id,
               commercial_partner_id, invoice_payment_term_id, invoice_user_id,
               team_id, state, move_type, auto_post, payment_state,
               invoice_partner_display_name, invoice_origin, date, invoice_date,
               invoice_date_due, invoice_currency_rate, amount_untaxed, amount_tax,
               amount_total, amount_residual, amount_untaxed_signed,
               amount_untaxed_in_currency_signed, amount_tax_signed,
               amount_total_signed, amount_total_in_currency_signed,
               amount_residual_signed, is_storno, always_tax_exigible, checked,
               posted_before, made_sequence_gap, is_manually_modified,
               is_move_sent, create_uid, write_uid, create_date, write_date)
        SELECT %(move_base)s + i.irn, i.prefix || lpad(i.seq::text, 6, '0'),
               i.prefix, i.seq, %(journal_id)s, %(company_id)s, %(currency_id)s,
               i.buyer, i.partner_id, %(term_id)s, %(user_id)s, %(team_id)s,
               'posted', 'out_invoice', 'no',
               CASE WHEN i.paid THEN 'paid' ELSE 'not_paid' END,
               p.complete_name, 'SB' || lpad((i.rn + 1)::text, 7, '0'),
               i.inv_date, i.inv_date, i.inv_date + 30, 1.0, i.amount, 0,
               i.amount, v.residual, i.amount, i.amount, 0, i.amount, i.amount,
               v.residual, false, false, true, true, false, false, true,
               %(user_id)s, %(user_id)s, i.inv_date, i.inv_date
          FROM bench_invoice i
          JOIN res_partner p ON p.id = i.buyer
         CROSS JOIN LATERAL (
               SELECT CASE WHEN i.paid THEN 0 ELSE i.amount END AS residual) v
         ORDER BY i.irn
        """,
        params,
    )
    cr.execute(
        """
        INSERT INTO account_move_line (id, move_id, journal_id, company_id,
               company_currency_id, sequence, account_id, currency_id, partner_id,
               product_id, product_uom_id, move_name, parent_state, name,
               display_type, date, invoice_date, date_maturity, debit, credit,
               balance, amount_currency, tax_base_amount, amount_residual,
               amount_residual_currency, quantity, price_unit, price_subtotal,
               price_total, discount, discount_amount_currency, discount_balance,
               reconciled, is_imported, tax_tag_invert, is_downpayment,
               create_uid, write_uid, create_date, write_date)
        SELECT %(line_base)s + 2 * i.irn + k.n, %(move_base)s + i.irn,
               %(journal_id)s, %(company_id)s, %(currency_id)s, 10 + k.n,
               CASE WHEN k.n = 0 THEN %(income_id)s ELSE %(receivable_id)s END,
               %(currency_id)s, i.partner_id,
               CASE WHEN k.n = 0 THEN %(product_id)s END,
               CASE WHEN k.n = 0 THEN %(uom_id)s END,
               i.prefix || lpad(i.seq::text, 6, '0'), 'posted',
               CASE WHEN k.n = 0 THEN %(product_name)s
                    ELSE i.prefix || lpad(i.seq::text, 6, '0') END,
               CASE WHEN k.n = 0 THEN 'product' ELSE 'payment_term' END,
               i.inv_date, i.inv_date,
               CASE WHEN k.n = 1 THEN i.inv_date + 30 END,
               CASE WHEN k.n = 1 THEN i.amount ELSE 0 END,
               CASE WHEN k.n = 0 THEN i.amount ELSE 0 END,
               CASE WHEN k.n = 0 THEN -i.amount ELSE i.amount END,
               CASE WHEN k.n = 0 THEN -i.amount ELSE i.amount END, 0,
               CASE WHEN k.n = 1 AND NOT i.paid THEN i.amount ELSE 0 END,
               CASE WHEN k.n = 1 AND NOT i.paid THEN i.amount ELSE 0 END,
               CASE WHEN k.n = 0 THEN 1 END,
               CASE WHEN k.n = 0 THEN i.amount END,
               CASE WHEN k.n = 0 THEN i.amount ELSE 0 END,
               CASE WHEN k.n = 0 THEN i.amount ELSE 0 END, 0, 0, 0,
               k.n = 1 AND i.paid, false, false, false,
               %(user_id)s, %(user_id)s, i.inv_date, i.inv_date
          FROM bench_invoice i
         CROSS JOIN (VALUES (0), (1)) AS k(n)
         ORDER BY i.irn, k.n
        """,
        params,
    )
    cr.execute(
        """
        INSERT INTO sale_order_line_invoice_rel (order_line_id, invoice_line_id)
        SELECT %(sol_base)s + i.rn, %(line_base)s + 2 * i.irn
          FROM bench_invoice i
        """,
        params,
    )
    partial_base, n_paid = insert_payments(cr, params)
    cr.execute(
        "SELECT count(*) FILTER (WHERE NOT paid), "
        "count(*) FILTER (WHERE NOT paid AND inv_date + 30 < current_date) "
        "FROM bench_invoice"
    )
    open_count, overdue = cr.fetchone()
    return move_base, line_base, partial_base, count, open_count, overdue, n_paid


def insert_payments(cr, params):
    """The payments of the paid invoices of ``bench_invoice``: one payment
    entry per customer in the bank journal (a receivable credit line of all
    its payments, a bank debit line), reconciled with each paid invoice's
    receivable line on its payment day (``max_date``)."""
    cr.execute(
        """
        CREATE TEMP TABLE bench_payment ON COMMIT DROP AS
        SELECT i.irn, i.partner_id, i.amount,
               LEAST(i.inv_date + 5 + floor(random() * CASE WHEN i.slow THEN 90
                                                             ELSE 40 END)::int,
                     current_date - 1) AS pay_date
          FROM bench_invoice i
         WHERE i.paid
        """
    )
    cr.execute(
        """
        CREATE TEMP TABLE bench_payer ON COMMIT DROP AS
        SELECT row_number() OVER (ORDER BY partner_id) - 1 AS prn, partner_id,
               SUM(amount) AS amount, MAX(pay_date) AS last_date
          FROM bench_payment
      GROUP BY partner_id
        """
    )
    cr.execute("SELECT count(*) FROM bench_payer")
    payers = cr.fetchone()[0]
    cr.execute("SELECT count(*) FROM bench_payment")
    payments = cr.fetchone()[0]
    params = dict(
        params,
        pay_move_base=reserve_ids(cr, "account_move", payers),
        pay_line_base=reserve_ids(cr, "account_move_line", 2 * payers),
        partial_base=reserve_ids(cr, "account_partial_reconcile", payments),
    )
    cr.execute(
        """
        INSERT INTO account_move (id, name, journal_id, company_id, currency_id,
               partner_id, commercial_partner_id, state, move_type, auto_post,
               date, amount_total, amount_total_signed, amount_residual,
               amount_residual_signed, is_storno, always_tax_exigible, checked,
               posted_before, made_sequence_gap, is_manually_modified,
               create_uid, write_uid, create_date, write_date)
        SELECT %(pay_move_base)s + b.prn, 'BNK/BENCH/' || lpad(b.prn::text, 6, '0'),
               %(bank_journal_id)s, %(company_id)s, %(currency_id)s, b.partner_id,
               b.partner_id, 'posted', 'entry', 'no', b.last_date, b.amount,
               b.amount, 0, 0, false, false, true, true, false, false,
               %(user_id)s, %(user_id)s, b.last_date, b.last_date
          FROM bench_payer b
         ORDER BY b.prn
        """,
        params,
    )
    cr.execute(
        """
        INSERT INTO account_move_line (id, move_id, journal_id, company_id,
               company_currency_id, sequence, account_id, currency_id, partner_id,
               move_name, parent_state, name, display_type, date, debit, credit,
               balance, amount_currency, tax_base_amount, amount_residual,
               amount_residual_currency, reconciled, is_imported, tax_tag_invert,
               is_downpayment, create_uid, write_uid, create_date, write_date)
        SELECT %(pay_line_base)s + 2 * b.prn + k.n, %(pay_move_base)s + b.prn,
               %(bank_journal_id)s, %(company_id)s, %(currency_id)s, 10 + k.n,
               CASE WHEN k.n = 0 THEN %(bank_account_id)s
                    ELSE %(receivable_id)s END,
               %(currency_id)s, b.partner_id,
               'BNK/BENCH/' || lpad(b.prn::text, 6, '0'), 'posted',
               'Customer payments', 'product', b.last_date,
               CASE WHEN k.n = 0 THEN b.amount ELSE 0 END,
               CASE WHEN k.n = 1 THEN b.amount ELSE 0 END,
               CASE WHEN k.n = 0 THEN b.amount ELSE -b.amount END,
               CASE WHEN k.n = 0 THEN b.amount ELSE -b.amount END, 0, 0, 0,
               k.n = 1, false, false, false,
               %(user_id)s, %(user_id)s, b.last_date, b.last_date
          FROM bench_payer b
         CROSS JOIN (VALUES (0), (1)) AS k(n)
         ORDER BY b.prn, k.n
        """,
        params,
    )
    cr.execute(
        """
        INSERT INTO account_partial_reconcile (id, debit_move_id, credit_move_id,
               debit_currency_id, credit_currency_id, company_id, max_date, amount,
               debit_amount_currency, credit_amount_currency, create_uid,
               write_uid, create_date, write_date)
        SELECT %(partial_base)s + row_number() OVER (ORDER BY p.irn) - 1,
               %(line_base)s + 2 * p.irn + 1, %(pay_line_base)s + 2 * b.prn + 1,
               %(currency_id)s, %(currency_id)s, %(company_id)s, p.pay_date,
               p.amount, p.amount, p.amount, %(user_id)s, %(user_id)s,
               p.pay_date, p.pay_date
          FROM bench_payment p
          JOIN bench_payer b ON b.partner_id = p.partner_id
        """,
        params,
    )
    return params["partial_base"], payments


def insert_touches(env, cr, ids, first):
    """Profiles for the generated customers, and follow-ups
    (``customer.touch``) over the last year for those who still order and
    the churners (up to their stop day): one to twelve each by order
    volume, each done some days before or after its deadline (about four
    in five on time), with the first line of the shipped plans and an
    outcome (7 % negative, 43 % neutral, 50 % positive).  A churner's
    follow-ups due in the 90 days before its stop are missed with
    probability ``0.5 * strength`` (state "missed", no outcome), else done
    5 to 24 days late with probability ``0.5 * strength``, and negative with
    probability ``0.6 * strength``.  Returns the number of touches done, of
    those missed, and the tables written."""
    uid, company_id = int(ids["user_id"]), int(ids["company_id"])
    line = env["customer.maintenance.plan.line"].search([], limit=1)
    cr.execute("SELECT COALESCE(max(id), 0) + 1 FROM customer_profile")
    first["customer_profile"] = cr.fetchone()[0]
    cr.execute(
        """
        INSERT INTO customer_profile
               (partner_id, company_id, refresh_run, create_uid, create_date,
                write_uid, write_date)
        SELECT c.partner_id, %(company)s, 0, %(uid)s, now(), %(uid)s, now()
          FROM bench_customer c
        ON CONFLICT (partner_id, company_id) DO NOTHING
        """,
        {"company": company_id, "uid": uid},
    )
    cr.execute("SELECT COALESCE(max(id), 0) + 1 FROM customer_touch")
    first["customer_touch"] = cr.fetchone()[0]
    cr.execute(
        """
        INSERT INTO customer_touch
               (profile_id, partner_id, company_id, plan_id, plan_line_id,
                activity_type_id, summary, date, deadline, user_id, state,
                automated, on_time, outcome, create_uid, create_date, write_uid,
                write_date)
        SELECT p.id, t.partner_id, %(company)s, %(plan)s, %(line)s,
               %(activity_type)s, 'Benchmark follow-up', t.done, t.deadline,
               %(uid)s, t.state, FALSE, t.state = 'done' AND t.done <= t.deadline,
               CASE WHEN t.state <> 'done' THEN NULL
                    WHEN t.pre AND t.r_bad < 0.6 * t.strength THEN 'negative'
                    WHEN t.r_outcome < 0.07 THEN 'negative'
                    WHEN t.r_outcome < 0.5 THEN 'neutral'
                    ELSE 'positive' END,
               %(uid)s, t.done, %(uid)s, t.done
          FROM (SELECT due.*,
                       CASE WHEN due.pre AND due.r_miss < 0.5 * due.strength
                            THEN 'missed' ELSE 'done' END AS state,
                       CASE WHEN due.pre AND due.r_miss < 0.5 * due.strength
                            THEN due.deadline
                            WHEN due.pre AND due.r_late < 0.5 * due.strength
                            THEN LEAST(current_date,
                                       due.deadline + 5 + floor(random() * 20)::int)
                            ELSE LEAST(current_date,
                                       due.deadline + floor(random() * 15)::int - 11)
                            END AS done
                  FROM (SELECT d.*,
                               d.churner AND d.deadline
                                   >= current_date - d.last_ago - %(window)s AS pre
                          FROM (
                            -- Volatile select list: evaluated once per touch.
                            SELECT c.partner_id, c.churner, c.strength, c.last_ago,
                                   current_date - c.last_ago - floor(random()
                                       * (365 - c.last_ago))::int AS deadline,
                                   random() AS r_miss, random() AS r_late,
                                   random() AS r_bad, random() AS r_outcome
                              FROM bench_customer c
                             CROSS JOIN LATERAL generate_series(
                                   1, LEAST(12, 1 + c.n_orders / 20)) AS g(n)
                             WHERE c.last_ago = 0 OR c.churner) AS d
                       ) AS due) AS t
          JOIN customer_profile p
            ON p.partner_id = t.partner_id AND p.company_id = %(company)s
        RETURNING state
        """,
        {
            "company": company_id,
            "uid": uid,
            "plan": line.plan_id.id or None,
            "line": line.id or None,
            "activity_type": line.activity_type_id.id or None,
            "window": PRECURSOR_DAYS,
        },
    )
    states = [state for (state,) in cr.fetchall()]
    missed = states.count("missed")
    return len(states) - missed, missed, ["customer_profile", "customer_touch"]


def main(argv=None):
    args = parse_args(argv)
    odoo.tools.config.parse_config(["-c", args.config, "--log-level=warn"])
    registry = Registry(args.database)
    clock = Clock()
    print(
        f"Generating {args.customers} customers and {args.orders} orders "
        f"in {args.database}",
        flush=True,
    )
    with registry.cursor() as cr:
        env = api.Environment(cr, SUPERUSER_ID, {})
        if "customer.profile" not in env:
            sys.exit("customer_tiering is not installed in this database.")
        cr.execute("SELECT count(*) FROM res_partner WHERE ref LIKE %s", [MARKER + "%"])
        if cr.fetchone()[0]:
            sys.exit(f"{args.database} already holds generated customers.")
        cr.execute("SET LOCAL synchronous_commit = off")
        cr.execute("SET LOCAL maintenance_work_mem = '512MB'")
        cr.execute("SET LOCAL work_mem = '64MB'")
        cr.execute("SELECT setseed(%s)", [(args.seed % 1000) / 1000.0])
        company = env.ref("base.main_company")
        ids = lookup(env, company)
        env.flush_all()
        clock.step("look-ups")
        plan = customer_plan(
            args.customers,
            args.orders,
            args.months * 365 // 12,
            args.contacts,
            args.seed,
            args.churn,
            args.silent_churn,
        )
        n_churners = sum(1 for row in plan if row[8])
        n_silent = sum(1 for row in plan if row[8] and not row[9])
        # Foreign keys are checked once, set-based, by check_foreign_keys().
        cr.execute("SET LOCAL session_replication_role = replica")
        first = {}
        first["res_partner"], n_contacts = insert_partners(
            cr, ids, plan, args.customers
        )
        clock.step(
            f"{args.customers} customers, {n_contacts} contacts, {n_churners} churners"
        )
        indexes = drop_indexes(cr, BIG_TABLES)
        first["sale_order"], first["sale_order_line"] = insert_orders(
            cr, ids, args.orders
        )
        clock.step(f"{args.orders} orders and lines")
        (
            first["account_move"],
            first["account_move_line"],
            first["account_partial_reconcile"],
            n_invoices,
            n_open,
            n_overdue,
            n_paid,
        ) = insert_invoices(cr, ids, first["sale_order"], first["sale_order_line"])
        clock.step(
            f"{n_invoices} invoices ({n_open} open, {n_overdue} overdue), "
            f"{n_paid} payments"
        )
        tables = [*first, "sale_order_line_invoice_rel"]
        n_touches, n_missed, touch_tables = insert_touches(env, cr, ids, first)
        tables.extend(touch_tables)
        clock.step(f"{n_touches} follow-ups done, {n_missed} missed")
        cr.execute("SET LOCAL session_replication_role = origin")
        check_foreign_keys(cr, tables, first)
        clock.step("foreign keys checked")
        for definition in indexes:
            cr.execute(definition)  # definitions read from pg_index above
        clock.step(f"{len(indexes)} indexes rebuilt")
        cr.commit()
        clock.step("commit")
    with registry.cursor() as cr:
        cr._cnx.autocommit = True
        for table in (
            "res_partner",
            *BIG_TABLES,
            "sale_order_line_invoice_rel",
            *touch_tables,
        ):
            cr.execute(f"VACUUM ANALYZE {table}")  # names from this file
        cr._cnx.autocommit = False
    clock.step("vacuum analyze")
    result = {
        "database": args.database,
        "customers": args.customers,
        "contacts": n_contacts,
        "orders": args.orders,
        "order_lines": args.orders,
        "invoices": n_invoices,
        "open_invoices": n_open,
        "overdue_invoices": n_overdue,
        "payments": n_paid,
        "touches": n_touches,
        "missed_touches": n_missed,
        "churners": n_churners,
        "silent_churners": n_silent,
        "seconds": round(clock.total(), 1),
    }
    print(f"Done in {clock.total():.0f} s")
    print("RESULT " + json.dumps(result), flush=True)
    return result


if __name__ == "__main__":
    main()
