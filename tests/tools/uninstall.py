"""Uninstall a module from a database and fail loudly if anything goes wrong.

Usage: python3 uninstall.py ODOO_CONF DATABASE MODULE

Fails when the uninstall logs an ERROR, or leaves behind: the module's
models, XML ids, tables or columns, or activities of its activity types (or,
for customer_tiering, the plan follow-ups it created).
"""

import logging
import sys

import odoo
from odoo.modules.registry import Registry
from odoo.tools.sql import column_exists, table_exists


class ErrorCounter(logging.Handler):
    def __init__(self):
        super().__init__(logging.ERROR)
        self.records = []

    def emit(self, record):
        self.records.append(record)


def _module_footprint(env, module):
    """What the module put in the database: its activity types, the
    activities of those types and the ones it created, its tables and its
    columns on other modules' tables."""
    Data = env["ir.model.data"]
    type_ids = Data.search(
        [("module", "=", module), ("model", "=", "mail.activity.type")]
    ).mapped("res_id")
    domain = [("activity_type_id", "in", type_ids)]
    fields = env["mail.activity"]._fields
    for name in ("customer_profile_id", "customer_plan_line_id"):
        if module == "customer_tiering" and name in fields:
            domain = ["|", (name, "!=", False), *domain]
    activity_ids = (
        env["mail.activity"].with_context(active_test=False).search(domain).ids
    )
    own_fields = env["ir.model.fields"].browse(
        Data.search(
            [("module", "=", module), ("model", "=", "ir.model.fields")]
        ).mapped("res_id")
    )
    tables, columns = set(), set()
    for field in own_fields.exists():
        model = env.get(field.model)
        if model is None or model._abstract or not model._auto:
            continue
        if all(
            data.module == module
            for data in Data.search(
                [("model", "=", "ir.model"), ("res_id", "=", field.model_id.id)]
            )
        ):
            tables.add(model._table)
        elif field.store and field.ttype not in ("one2many", "many2many"):
            columns.add((model._table, field.name))
    tables.update(
        env["ir.model.relation"].search([("module.name", "=", module)]).mapped("name")
    )
    return type_ids, activity_ids, tables, columns


def main(conf, database, module):
    odoo.tools.config.parse_config(["-c", conf, "--log-level=warn"])
    errors = ErrorCounter()
    logging.getLogger().addHandler(errors)
    registry = Registry(database)
    with registry.cursor() as cr:
        env = odoo.api.Environment(cr, odoo.SUPERUSER_ID, {})
        record = env["ir.module.module"].search([("name", "=", module)])
        if record.state != "installed":
            sys.exit(f"{module} is not installed in {database} ({record.state})")
        type_ids, activity_ids, tables, columns = _module_footprint(env, module)
        record.button_immediate_uninstall()
    problems = []
    with Registry(database).cursor() as cr:
        env = odoo.api.Environment(cr, odoo.SUPERUSER_ID, {})
        state = env["ir.module.module"].search([("name", "=", module)]).state
        leftovers = env["ir.model"].search_count([("model", "like", "customer.%")])
        if state != "uninstalled" or leftovers:
            problems.append(f"{module} {state} with {leftovers} models")
        cr.execute(
            "SELECT COUNT(*) FROM mail_activity "
            "WHERE id = ANY(%s) OR activity_type_id = ANY(%s)",
            [activity_ids, type_ids],
        )
        if count := cr.fetchone()[0]:
            problems.append(f"{count} of its activities (of {len(activity_ids)})")
        cr.execute(
            "SELECT COUNT(*) FROM mail_activity_type WHERE id = ANY(%s)", [type_ids]
        )
        if count := cr.fetchone()[0]:
            problems.append(f"{count} of its activity types")
        if count := env["ir.model.data"].search_count([("module", "=", module)]):
            problems.append(f"{count} XML ids of module {module}")
        if kept := sorted(table for table in tables if table_exists(cr, table)):
            problems.append(f"tables {', '.join(kept)}")
        if kept := sorted(
            f"{table}.{column}"
            for table, column in columns
            if column_exists(cr, table, column)
        ):
            problems.append(f"columns {', '.join(kept)}")
    if problems:
        sys.exit(f"uninstalling {module} left: {'; '.join(problems)}")
    if errors.records:
        sys.exit(f"uninstalling {module} logged {len(errors.records)} errors (above)")
    print(
        f"{module} uninstalled cleanly from {database} ({len(activity_ids)} "
        f"activities, {len(tables)} tables, {len(columns)} columns removed)"
    )


if __name__ == "__main__":
    main(*sys.argv[1:4])
