def post_init_hook(env):
    """Tier the customers already in the database, without slowing the install.

    A database with years of orders can hold 100,000 customers: evaluating them
    inside the install transaction would make the install take minutes.  The
    nightly cron does the work in committed batches; we only ask it to run as
    soon as possible.
    """
    env["customer.health.dimension"]._ensure_scorecards(env["res.company"].search([]))
    env["customer.profile"]._request_full_refresh(reason="install")
