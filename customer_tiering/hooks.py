import logging

from odoo.tools import SQL

from .models.sql_indexes import drop_indexes

_logger = logging.getLogger(__name__)


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
    """Remove what would keep Odoo from deleting this addon's data.

    The demo orders of this addon go before its demo customers: confirmed
    orders cannot be deleted, so without this the uninstall could not remove
    the demo customers and product that those orders reference.  Only orders
    created by this addon's own demo data are touched.  Then the follow-ups
    it created, and the rows of its own tables that reference its shipped
    records (see below).
    """
    order_ids = (
        env["ir.model.data"]
        .search([("module", "=", "customer_tiering"), ("model", "=", "sale.order")])
        .mapped("res_id")
    )
    orders = env["sale.order"].browse(order_ids).exists()
    orders.with_context(customer_tiering_skip=True).write({"state": "cancel"})
    orders.unlink()
    _remove_followups(env)
    # Profiles, history, snapshots, reviews and touches are this addon's own
    # data and their tables are dropped anyway; emptying them first lets the
    # shipped and demo records they reference (tiers, plans, demo reviews) be
    # removed cleanly instead of failing on foreign keys.
    # So are the plans, plan touches and tier requests that users made: they
    # reference this addon's activity types, e-mail templates and tiers with
    # ondelete="restrict", which would keep Odoo from deleting those.
    # Key moments reference the shipped kinds with ondelete="restrict" too.
    # Records with an XML id (demo reviews...) are left to Odoo's own data
    # removal, which expects to find and delete them itself.
    for model in (
        "customer.key.moment",
        "customer.touch",
        "customer.tier.request",
        "customer.maintenance.plan.line",
        "customer.maintenance.plan",
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


def _addon_ids(env, model):
    """Ids of the records of ``model`` that this addon ships (XML ids)."""
    return (
        env["ir.model.data"]
        .search([("module", "=", "customer_tiering"), ("model", "=", model)])
        .mapped("res_id")
    )


def _remove_followups(env):
    """Delete the activities this addon created, done ones included.

    They are recognised as ``mail_activity.py`` and ``customer_profile_plan.py``
    create them: plan follow-ups carry a plan touch or a profile (whatever
    their type, often Odoo's call or e-mail), the health-risk reviews, business
    reviews, surveys and tier review requests have one of this addon's
    activity types.  Left behind, they would stay in their owners' inboxes
    pointing to a plan that no longer exists, and those of this addon's types
    would keep Odoo from deleting the types (``mail_activity.activity_type_id``
    is ``ondelete='restrict'``).
    """
    type_ids = _addon_ids(env, "mail.activity.type")
    activities = (
        env["mail.activity"]
        .with_context(active_test=False)
        .search(
            [
                "|",
                "|",
                ("customer_profile_id", "!=", False),
                ("customer_plan_line_id", "!=", False),
                ("activity_type_id", "in", type_ids),
            ]
        )
    )
    # No touch recorded for them (customer_touch is dropped anyway).
    activities.with_context(customer_touch_recorded=True).unlink()
    # Odoo's own configuration that points to this addon's types would keep
    # them as well: activity plans and server actions fall back to the To-Do
    # type, chained types lose their link to ours.
    todo = env.ref("mail.mail_activity_data_todo", raise_if_not_found=False)
    if todo and type_ids:
        for model in ("mail.activity.plan.template", "ir.actions.server"):
            records = (
                env[model]
                .with_context(active_test=False)
                .search([("activity_type_id", "in", type_ids)])
            )
            if records:
                _logger.warning(
                    "customer_tiering uninstall: %s %s used an activity type of "
                    "this addon; they now use %s.",
                    model,
                    records.ids,
                    todo.name,
                )
                records.write({"activity_type_id": todo.id})
    env["mail.activity.type"].with_context(active_test=False).search(
        [
            ("id", "not in", type_ids),
            ("triggered_next_type_id", "in", type_ids),
        ]
    ).write({"triggered_next_type_id": False})
