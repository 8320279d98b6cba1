#!/usr/bin/env python3
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The nightly work through queue_job's real runner, committed, timed, and
optionally killed mid-run.

    python3 benchmarks/queue_job_run.py -c CONF -d DB [--what refresh]
        [--capacity 2] [--workers 2] [--port 8091] [--batch-size N]
        [--kill-worker-after N] [--kill-server-after N] [--count]

``DB`` must have customer_tiering and queue_job installed (and so
customer_tiering_queue_job, auto-installed); ``--install`` installs
queue_job first.  Everything is COMMITTED: use a copy of a database
(``createdb -T ct_bench20 mycopy``).

Starts Odoo as queue_job documents it (``--workers``, ``--load=base,web,
queue_job``, a ``[queue_job] channels`` line with ``root.customer_tiering``
at ``--capacity``) on ``--port``, enqueues the work (``--what refresh``: a
full refresh, as a configuration change or the nightly cron does it;
``followups``: the scheduler's run; ``cron`` and ``followups-cron``: the
same the cron's way, in this process, batches committed, for comparison),
waits until every job is done
and prints ``RESULT {json}``: wall seconds from the trigger to the last job
done, jobs done/failed, and PostgreSQL's share of the time (``active_time``
against ``idle_in_transaction_time`` of ``pg_stat_database``: time spent
executing SQL against time the transactions spent in Python).

``--kill-worker-after N`` kills (SIGKILL) a worker process once N jobs are
done; ``--kill-server-after N`` kills the whole server (master, workers and
runner) once N jobs are done, and starts it again.  ``--count`` records each
committed evaluation of a profile (a trigger on ``evaluated_at``) and checks
that every profile of the company was evaluated exactly once by the run;
the script exits 1 otherwise.
"""

import argparse
import configparser
import json
import os
import signal
import subprocess
import sys
import tempfile
import time

import psycopg2

RESULT = "RESULT "
COUNT_SQL = """
CREATE TABLE IF NOT EXISTS ct_qjob_evaluation (
    profile_id int4 NOT NULL, run int4, at timestamp DEFAULT clock_timestamp()
);
TRUNCATE ct_qjob_evaluation;
CREATE OR REPLACE FUNCTION ct_qjob_evaluated() RETURNS trigger AS $$
BEGIN
    INSERT INTO ct_qjob_evaluation (profile_id, run)
    VALUES (NEW.id, NEW.refresh_run);
    RETURN NEW;
END $$ LANGUAGE plpgsql;
DROP TRIGGER IF EXISTS ct_qjob_evaluated ON customer_profile;
CREATE TRIGGER ct_qjob_evaluated AFTER UPDATE ON customer_profile FOR EACH ROW
    WHEN (NEW.evaluated_at IS DISTINCT FROM OLD.evaluated_at)
    EXECUTE FUNCTION ct_qjob_evaluated();
"""
UNCOUNT_SQL = """
DROP TRIGGER IF EXISTS ct_qjob_evaluated ON customer_profile;
DROP FUNCTION IF EXISTS ct_qjob_evaluated();
"""


def log(*args):
    print("...", *args, file=sys.stderr, flush=True)


def connect(args):
    config = configparser.ConfigParser()
    config.read(args.config)
    options = config["options"]
    return psycopg2.connect(
        dbname=args.database,
        host=options.get("db_host") or None,
        port=options.get("db_port") or None,
        user=options.get("db_user") or None,
    )


def query(cnx, sql, params=None):
    with cnx.cursor() as cr:
        cr.execute(sql, params)
        rows = cr.fetchall() if cr.description else None
    cnx.commit()
    return rows


def pg_times(cnx):
    """(active, idle in transaction) milliseconds of the database so far."""
    # An idle session flushes its statistics within 10 s.
    time.sleep(11)
    (row,) = query(
        cnx,
        "SELECT active_time, idle_in_transaction_time FROM pg_stat_database "
        "WHERE datname = current_database()",
    )
    return row


def server_config(args, directory):
    """The Odoo configuration of the server: the checkout's, with workers,
    the job runner's channels and this database only."""
    config = configparser.ConfigParser()
    config.read(args.config)
    options = config["options"]
    options.update(
        {
            "workers": str(args.workers),
            "max_cron_threads": "0",
            "http_port": str(args.port),
            "http_interface": "127.0.0.1",
            "gevent_port": str(args.port + 1),
            "server_wide_modules": "base,web,queue_job",
            "db_name": args.database,
            "dbfilter": f"^{args.database}$",
            "limit_time_cpu": "3600",
            "limit_time_real": "3600",
            "limit_memory_soft": str(4 << 30),
            "limit_memory_hard": str(5 << 30),
            "log_level": args.log_level,
            "logfile": os.path.join(directory, "odoo.log"),
        }
    )
    config["queue_job"] = {
        "channels": f"root:{args.capacity},root.customer_tiering:{args.capacity}"
    }
    path = os.path.join(directory, "odoo.conf")
    with open(path, "w") as file:
        config.write(file)
    return path


LAUNCHER = """\
# python3 -m odoo, as a script.  Odoo's multi-process server starts its
# websocket process by running sys.argv[0] again with "gevent": odoo/__main__.py
# cannot run as a script (a relative import), and where gevent's dependencies
# are incomplete that process fails anyway; the server respawns it in a loop,
# eating the CPU the workers are measured on.  The jobs need no websocket
# process: here it is a stand-in that waits to be stopped.
import signal
import sys

if sys.argv[1:2] == ["gevent"]:
    signal.signal(signal.SIGTERM, lambda *args: sys.exit(0))
    while True:
        signal.pause()

from odoo.cli.command import main

main()
"""


class Server:
    def __init__(self, conf):
        self.conf = conf
        self.proc = None
        self.launcher = os.path.join(os.path.dirname(conf), "odoo_server.py")
        with open(self.launcher, "w") as file:
            file.write(LAUNCHER)

    def start(self):
        self.proc = subprocess.Popen(
            [sys.executable, self.launcher, "-c", self.conf],
            start_new_session=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        log("server started, pid", self.proc.pid)

    def children(self):
        out = subprocess.run(
            ["ps", "-o", "pid=,args=", "--ppid", str(self.proc.pid)],
            capture_output=True,
            text=True,
            check=False,
        ).stdout
        return [line.split(None, 1) for line in out.splitlines() if line.strip()]

    def kill_worker(self, cnx):
        """SIGKILL the workers running a job: the processes whose database
        connection is inside a transaction (found by its client port)."""
        ports = {
            row[0]
            for row in query(
                cnx,
                "SELECT client_port FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid() "
                "AND state IN ('active', 'idle in transaction')",
            )
        }
        children = {int(pid) for pid, __ in self.children()}
        sockets = subprocess.run(
            ["ss", "-tnpH"], capture_output=True, text=True, check=False
        ).stdout
        pids = set()
        for line in sockets.splitlines():
            fields = line.split()
            local = fields[3].rsplit(":", 1)[-1]
            if local.isdigit() and int(local) in ports and "pid=" in line:
                pid = int(line.split("pid=", 1)[1].split(",", 1)[0])
                if pid in children:
                    pids.add(pid)
        for pid in pids:
            os.kill(pid, signal.SIGKILL)
        log("killed workers", sorted(pids))
        return sorted(pids)

    def wait_ready(self, port, timeout=120):
        import urllib.request

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(
                    f"http://127.0.0.1:{port}/web/health", timeout=2
                ):
                    # The job runner starts with the workers; give it a
                    # moment to connect and listen.
                    time.sleep(2)
                    return
            except OSError:
                time.sleep(0.5)
        sys.exit("the server did not start")

    def kill(self):
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()
        log("server killed")

    def stop(self):
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)


def odoo_env(args):
    import odoo
    from odoo.modules.registry import Registry

    odoo.tools.config.parse_config(["-c", args.config, "--log-level=warn"])
    return Registry(args.database)


def cron_method(model, name):
    """customer_tiering's own ``name`` (the cron path), under the glue
    addon's override (the queue_job path)."""
    return next(
        vars(klass)[name]
        for klass in type(model).__mro__
        if klass.__module__.startswith("odoo.addons.customer_tiering.models")
        and name in vars(klass)
    )


def trigger(args, registry):
    """Enqueue (or, for ``cron``, do) the work; returns the key prefix of
    its jobs and the run."""
    from odoo import SUPERUSER_ID, api

    with registry.cursor() as cr:
        env = api.Environment(cr, SUPERUSER_ID, {})
        if args.batch_size:
            params = env["ir.config_parameter"]
            params.set_param("customer_tiering.refresh_batch_size", args.batch_size)
            params.set_param("customer_tiering.followup_batch_size", args.batch_size)
        company = env.ref("base.main_company")
        Profile = env["customer.profile"]
        # Other companies keep their runs to themselves.
        if args.what == "followups-cron":
            cr.commit()
            base = cron_method(Profile, "_cron_schedule_followups")
            today = company._customer_tiering_today()
            domain = Profile._customer_tiering_followups_domain(company, today)
            while Profile.search_count(domain):
                base(Profile)
                env.invalidate_all()
            return company.id, "none", None
        if args.what == "followups":
            jobs = Profile._customer_tiering_enqueue_followups(company)
            prefix = (
                f"customer_tiering:followups:{company.id}:"
                f"{company._customer_tiering_today()}"
            )
            run = None
        else:
            company._customer_tiering_start_run("manual")
            run = company.customer_tiering_run_id
            prefix = f"customer_tiering:refresh:{company.id}:{run}"
            if args.what == "cron":
                cr.commit()
                base = cron_method(Profile, "_cron_refresh")
                while company.customer_tiering_run_start:
                    base(Profile)
                    env.invalidate_all()
                jobs = []
            else:
                jobs = Profile._customer_tiering_enqueue_refresh(company)
        cr.commit()
        log(len(jobs), "jobs enqueued")
        return company.id, prefix, run


def job_states(cnx, prefix):
    return dict(
        query(
            cnx,
            "SELECT state, count(*) FROM queue_job WHERE identity_key LIKE %s "
            "GROUP BY state",
            [prefix + ":%"],
        )
    )


def counts(cnx, company_id, run):
    (row,) = query(
        cnx,
        """
        SELECT count(*),
               count(*) FILTER (WHERE p.refresh_run = %(run)s),
               count(*) FILTER (WHERE e.n = 1),
               count(*) FILTER (WHERE e.n > 1),
               count(*) FILTER (WHERE e.n IS NULL),
               coalesce(max(e.n), 0)
          FROM customer_profile p
          LEFT JOIN (SELECT profile_id, count(*) AS n FROM ct_qjob_evaluation
                      WHERE run = %(run)s GROUP BY profile_id) e
            ON e.profile_id = p.id
         WHERE p.company_id = %(company)s
        """,
        {"run": run, "company": company_id},
    )
    keys = ("profiles", "refresh_run_is_run", "once", "twice_or_more", "never", "max")
    return dict(zip(keys, row, strict=True))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("-c", "--config", required=True)
    parser.add_argument("-d", "--database", required=True)
    parser.add_argument(
        "--what",
        choices=("refresh", "followups", "cron", "followups-cron"),
        default="refresh",
    )
    parser.add_argument("--capacity", type=int, default=2)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--port", type=int, default=8091)
    parser.add_argument("--batch-size", type=int)
    parser.add_argument("--kill-worker-after", type=int)
    parser.add_argument("--kill-server-after", type=int)
    parser.add_argument("--count", action="store_true")
    parser.add_argument("--install", action="store_true")
    parser.add_argument("--log-level", default="warn", help="of the server's log")
    parser.add_argument("--timeout", type=float, default=3600)
    args = parser.parse_args(argv)

    if args.install:
        subprocess.run(
            [
                *(sys.executable, "-m", "odoo", "-c", args.config),
                *("-d", args.database, "-i", "queue_job"),
                *("--stop-after-init", "--log-level=warn"),
            ],
            check=True,
        )
    cnx = connect(args)
    # Each committed run leaves a dead version of every profile (and of
    # partners, snapshots): start from clean tables, as bench.py does.
    cnx.autocommit = True
    with cnx.cursor() as cr:
        for table in ("customer_profile", "res_partner", "customer_health_snapshot"):
            cr.execute(f"VACUUM ANALYZE {table}")  # names from this file
    cnx.autocommit = False
    if args.count:
        query(cnx, COUNT_SQL)
    directory = tempfile.mkdtemp(prefix="ct_qjob_run_")
    log("server log:", os.path.join(directory, "odoo.log"))
    server = Server(server_config(args, directory))
    registry = odoo_env(args)
    result = {"what": args.what, "capacity": args.capacity, "workers": args.workers}
    try:
        if not args.what.endswith("cron"):
            server.start()
            server.wait_ready(args.port)
        active0, idle0 = pg_times(cnx)
        ((since,),) = query(cnx, "SELECT now() AT TIME ZONE 'UTC'")
        start = time.perf_counter()
        company_id, prefix, run = trigger(args, registry)
        killed_worker = killed_server = False
        states = {}
        while not args.what.endswith("cron"):
            states = job_states(cnx, prefix)
            done = states.get("done", 0)
            active = sum(
                states.get(s, 0)
                for s in ("pending", "enqueued", "started", "wait_dependencies")
            )
            if not active:
                break
            if (
                args.kill_worker_after
                and not killed_worker
                and done >= args.kill_worker_after
            ):
                pids = server.kill_worker(cnx)
                if pids:
                    killed_worker = True
                    result["killed_worker_at_done"] = done
                    result["killed_workers"] = len(pids)
            if (
                args.kill_server_after
                and not killed_server
                and done >= args.kill_server_after
            ):
                server.kill()
                killed_server = True
                result["killed_server_at_done"] = done
                result["started_at_kill"] = states.get("started", 0)
                server.start()
                server.wait_ready(args.port)
            if time.perf_counter() - start > args.timeout:
                sys.exit(f"timeout: jobs {states}")
            time.sleep(0.2)
        seconds = time.perf_counter() - start
        # The last job's own end, not the poll's.
        if not args.what.endswith("cron"):
            ((last,),) = query(
                cnx,
                "SELECT extract(epoch FROM max(date_done) - min(date_created)) "
                "FROM queue_job WHERE identity_key LIKE %s",
                [prefix + ":%"],
            )
            result["jobs_seconds"] = float(last or 0)
        active1, idle1 = pg_times(cnx)
        result.update(
            seconds=seconds,
            jobs=states,
            pg_active_s=(active1 - active0) / 1000,
            pg_idle_in_transaction_s=(idle1 - idle0) / 1000,
        )
        busy = result["pg_active_s"] + result["pg_idle_in_transaction_s"]
        result["pg_share"] = result["pg_active_s"] / busy if busy else None
        result["failed"] = [
            row[0]
            for row in query(
                cnx,
                "SELECT exc_message FROM queue_job WHERE identity_key LIKE %s "
                "AND state = 'failed'",
                [prefix + ":%"],
            )
        ]
        ((result["activities"],),) = query(
            cnx, "SELECT count(*) FROM mail_activity WHERE create_date >= %s", [since]
        )
        if args.count and run:
            result["counts"] = counts(cnx, company_id, run)
    finally:
        server.stop()
        if args.count:
            query(cnx, UNCOUNT_SQL)
    print(RESULT + json.dumps(result, default=str), flush=True)
    if args.count and run:
        c = result["counts"]
        if not (c["profiles"] == c["refresh_run_is_run"] == c["once"]):
            sys.exit(f"not exactly once per customer: {c}")
    if states.get("failed"):
        sys.exit(f"failed jobs: {result['failed']}")
    return 0


if __name__ == "__main__":
    main()
