"""Turn a COPY of a benchmark database into the follow-ups' first night.

    createdb -T ct_bench20 ct_NAME_b20
    python3 benchmarks/first_night.py -c CONF -d ct_NAME_b20
    python3 benchmarks/bench.py --measure scheduler -c CONF -d ct_NAME_b20

20 salespersons own the customers round-robin, every customer is on the
standard plan (tier C) whose line becomes a call by the salesperson, plan
starting today, never checked: the scheduler's first run creates one
activity per customer."""

import argparse
import sys

import odoo
from odoo import SUPERUSER_ID, api, fields
from odoo.modules.registry import Registry

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("-c", "--config", required=True)
parser.add_argument("-d", "--database", required=True)
args = parser.parse_args()
db = args.database
if db in ("ct_bench", "ct_bench20"):
    sys.exit("Run it on a copy: it rewrites the profiles and the salespersons.")
odoo.tools.config.parse_config(["-c", args.config, "--log-level=warn"])
registry = Registry(db)
with registry.cursor() as cr:
    env = api.Environment(cr, SUPERUSER_ID, {"tz": "UTC"})
    users = env["res.users"].search([("login", "like", "bench_sales_%")])
    if not users:
        group = env.ref("sales_team.group_sale_salesman")
        users = (
            env["res.users"]
            .with_context(no_reset_password=True)
            .create(
                [
                    {
                        "name": f"Bench Sales {i}",
                        "login": f"bench_sales_{i}",
                        "groups_id": [
                            (6, 0, [group.id, env.ref("base.group_user").id])
                        ],
                    }
                    for i in range(20)
                ]
            )
        )
    plan_c = env.ref("customer_tiering.plan_standard")
    tier_c = plan_c.tier_ids[:1]
    line = plan_c.line_ids[:1]
    line.write(
        {
            "kind": "activity",
            "activity_type_id": env.ref("mail.mail_activity_data_call").id,
            "responsible_type": "salesperson",
        }
    )
    env.flush_all()
    cr.execute(
        "UPDATE res_partner p SET user_id = (%s::int[])[1 + p.id %% %s] "
        "WHERE is_company AND ref LIKE 'BENCH-%%'",
        [users.ids, len(users)],
    )
    today = fields.Date.today()
    # No follow-up done yet (the generator's year of touches would put most
    # customers' next call months ahead; this deleted them only when run on
    # the day they were generated).
    cr.execute("DELETE FROM customer_touch")
    cr.execute("DELETE FROM mail_activity WHERE customer_profile_id IS NOT NULL")
    cr.execute(
        "UPDATE customer_profile SET tier_id = %s, plan_id = %s, plan_start = %s, "
        "followups_checked_on = NULL",
        [tier_c.id, plan_c.id, today],
    )
    cr.commit()
    cr.execute(
        "SELECT count(*) FROM customer_profile WHERE followups_checked_on IS NULL"
    )
    print(
        "profiles to schedule",
        cr.fetchone()[0],
        "line",
        line.id,
        line.kind,
        line.lead_days,
    )
