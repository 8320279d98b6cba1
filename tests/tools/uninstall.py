"""Uninstall a module from a database and fail loudly if anything goes wrong.

Usage: python3 uninstall.py ODOO_CONF DATABASE MODULE
"""

import logging
import sys

import odoo
from odoo.modules.registry import Registry


class ErrorCounter(logging.Handler):
    def __init__(self):
        super().__init__(logging.ERROR)
        self.records = []

    def emit(self, record):
        self.records.append(record)


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
        record.button_immediate_uninstall()
    with Registry(database).cursor() as cr:
        env = odoo.api.Environment(cr, odoo.SUPERUSER_ID, {})
        state = env["ir.module.module"].search([("name", "=", module)]).state
        leftovers = env["ir.model"].search_count([("model", "like", "customer.%")])
        if state != "uninstalled" or leftovers:
            sys.exit(f"uninstall left {module} {state} with {leftovers} models")
    if errors.records:
        sys.exit(f"uninstalling {module} logged {len(errors.records)} errors (above)")
    print(f"{module} uninstalled cleanly from {database}")


if __name__ == "__main__":
    main(*sys.argv[1:4])
