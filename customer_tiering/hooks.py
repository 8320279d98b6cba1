from odoo.tools import SQL

from .models.sql_indexes import drop_indexes


def post_init_hook(env):
    """Tier the customers already in the database, without slowing the install.

    A database with years of orders can hold 100,000 customers: evaluating them
    inside the install transaction would make the install take minutes.  The
    nightly cron does the work in committed batches; we only ask it to run as
    soon as possible.
    """
    env["customer.health.dimension"]._ensure_scorecards(env["res.company"].search([]))
    env["customer.profile"]._request_full_refresh(reason="install")


def uninstall_hook(env):
    """Remove the demo orders of this addon before its demo customers.

    Confirmed orders cannot be deleted, so without this the uninstall could
    not remove the demo customers and product that those orders reference.
    Only orders created by this addon's own demo data are touched.
    """
    order_ids = (
        env["ir.model.data"]
        .search([("module", "=", "customer_tiering"), ("model", "=", "sale.order")])
        .mapped("res_id")
    )
    orders = env["sale.order"].browse(order_ids).exists()
    orders.with_context(customer_tiering_skip=True).write({"state": "cancel"})
    orders.unlink()
    # Profiles, history, snapshots, reviews and touches are this addon's own
    # data and their tables are dropped anyway; emptying them first lets the
    # shipped and demo records they reference (tiers, plans, demo reviews) be
    # removed cleanly instead of failing on foreign keys.
    # Records with an XML id (demo reviews...) are left to Odoo's own data
    # removal, which expects to find and delete them itself.
    for model in (
        "customer.touch",
        "customer.account.review",
        "customer.health.snapshot",
        "customer.tier.history",
        "customer.profile",
    ):
        env.cr.execute(
            SQL(
                """
                DELETE FROM %(table)s
                 WHERE id NOT IN (
                       SELECT res_id FROM ir_model_data
                        WHERE module = 'customer_tiering' AND model = %(model)s)
                """,
                table=SQL.identifier(env[model]._table),
                model=model,
            )
        )
    env.invalidate_all()
    drop_indexes(env.cr)
