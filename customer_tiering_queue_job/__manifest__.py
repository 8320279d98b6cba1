# Copyright 2026 customer_tiering authors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
{
    "name": "Customer Tiering - Job Queue",
    "summary": "Run the nightly refresh and follow-up scheduling of Customer "
    "Tiering as queue_job jobs, one per batch, on every worker",
    "version": "18.0.1.0.0",
    "category": "Sales/Sales",
    "website": "https://github.com/customer-tiering/customer_tiering",
    "author": "customer_tiering authors",
    "maintainers": ["customer-tiering"],
    "license": "LGPL-3",
    "application": False,
    "installable": True,
    "auto_install": True,
    "depends": ["customer_tiering", "queue_job"],
    "data": [
        "data/queue_job_data.xml",
        "views/res_config_settings_views.xml",
    ],
}
