# Copyright 2026 customer_tiering authors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
{
    "name": "Customer Tiering",
    "summary": "Sort customers into tiers by value, keep a health score and "
    "turn per-tier maintenance plans into follow-up activities",
    "version": "18.0.1.0.0",
    "category": "Sales/Sales",
    "website": "https://github.com/customer-tiering/customer_tiering",
    "author": "customer_tiering authors",
    "maintainers": ["customer-tiering"],
    "license": "LGPL-3",
    "application": False,
    "installable": True,
    "depends": ["sale_management", "account", "mail"],
    "data": [
        "security/customer_tiering_security.xml",
        "security/ir.model.access.csv",
        "data/customer_tier_data.xml",
        "data/ir_cron_data.xml",
        "data/mail_activity_type_data.xml",
        "data/mail_template_data.xml",
        "data/customer_maintenance_plan_data.xml",
        "wizard/customer_tier_override_wizard_views.xml",
        "views/customer_tier_views.xml",
        "views/customer_tier_history_views.xml",
        "views/customer_profile_views.xml",
        "views/customer_health_dimension_views.xml",
        "views/customer_health_snapshot_views.xml",
        "views/customer_account_review_views.xml",
        "views/customer_maintenance_plan_views.xml",
        "views/customer_touch_views.xml",
        "views/mail_activity_views.xml",
        "views/res_partner_views.xml",
        "views/sale_order_views.xml",
        "views/res_config_settings_views.xml",
        "views/menus.xml",
    ],
    "assets": {
        "web.assets_backend": [
            "customer_tiering/static/src/components/**/*",
            "customer_tiering/static/src/activity/**/*",
        ],
        "web.assets_tests": [
            "customer_tiering/static/tests/tours/**/*",
        ],
    },
    "demo": [
        "demo/customer_tiering_demo.xml",
        "demo/customer_maintenance_plan_demo.xml",
    ],
    "post_init_hook": "post_init_hook",
    "uninstall_hook": "uninstall_hook",
}
