/** @odoo-module **/
import {download} from "@web/core/network/download";
import {registry} from "@web/core/registry";
import {stepUtils} from "@web_tour/tour_service/tour_utils";

registry.category("web_tour.tours").add("customer_tiering_override_tour", {
    steps: () => [
        {
            content: "The customer shows its tier",
            trigger: ".o_field_customer_tier_badge:contains('Standard')",
        },
        {
            content: "Open the tiering tab",
            trigger: "a.nav-link:contains('Tiering')",
            run: "click",
        },
        {
            content: "Override the tier",
            trigger: "button[name='action_customer_tier_override']",
            run: "click",
        },
        {
            content: "Choose the new tier",
            trigger: ".modal div[name='tier_id'] input",
            run: "edit Potential",
        },
        {
            trigger: ".ui-autocomplete a:contains('Potential')",
            run: "click",
        },
        {
            content: "Give the reason",
            trigger: ".modal div[name='reason'] textarea",
            run: "edit Tour: key reference",
        },
        {
            content: "Apply",
            trigger: ".modal button[name='action_apply']",
            run: "click",
        },
        {
            content: "The badge shows the new tier",
            trigger:
                "body:not(:has(.modal)) .o_field_customer_tier_badge:contains('Potential')",
        },
        {
            content: "Open the tier history",
            trigger: "button[name='action_view_customer_tier_history']",
            run: "click",
        },
        {
            content: "The override is in the history",
            trigger: ".o_data_row:contains('Override set'):contains('Potential')",
        },
    ],
});

const SCORES = [
    "satisfaction",
    "needs_met",
    "strategic_alignment",
    "innovation",
    "relationship",
];

registry.category("web_tour.tours").add("customer_tiering_health_tour", {
    steps: () => [
        {
            content: "The customer is at risk",
            trigger: ".o_field_widget[name='customer_health_band'] .badge:contains('At Risk')",
        },
        {
            content: "Open the health tab",
            trigger: "a.nav-link:contains('Health')",
            run: "click",
        },
        {
            content: "Read why",
            trigger:
                ".o_field_widget[name='customer_health_reasons'] li:contains('No order for')",
        },
        {
            content: "Record an account review",
            trigger: "button[name='action_customer_account_review']",
            run: "click",
        },
        ...SCORES.map((name) => ({
            content: `Score ${name}`,
            trigger: `.modal div[name='${name}'] input[data-value='5']`,
            run: "click",
        })),
        {
            content: "Save the review",
            trigger: ".modal .o_form_button_save",
            run: "click",
        },
        {
            content: "The score moved: the customer is no longer at risk",
            trigger:
                "body:not(:has(.modal)) .o_field_widget[name='customer_health_band'] .badge:contains('Watch')",
        },
        {
            content: "The review is the last one",
            trigger: ".o_field_widget[name='customer_last_review_id'] a:contains('Tianfu')",
        },
    ],
});

registry.category("web_tour.tours").add("customer_tiering_followup_tour", {
    steps: () => [
        {
            content: "Open the activity menu",
            trigger: ".o_menu_systray i[aria-label='Activities']",
            run: "click",
        },
        {
            content: "The customer follow-ups are among the contacts' activities",
            trigger: ".o-mail-ActivityGroup:contains('Contact')",
            run: "click",
        },
        {
            content: "Open the customer",
            trigger:
                ".o_kanban_record:contains('Tour Strategic Customer'), .o_data_row:contains('Tour Strategic Customer') td.o_data_cell",
            run: "click",
        },
        {
            content: "Mark the planned call done",
            trigger:
                ".o-mail-Activity:contains('Weekly call: industry trend report') .o-mail-Activity-markDone",
            run: "click",
        },
        {
            content: "The customer reacted positively",
            trigger: ".o-mail-ActivityMarkAsDone .o_customer_touch_outcome button[data-outcome='positive']",
            run: "click",
        },
        {
            trigger:
                ".o-mail-ActivityMarkAsDone .o_customer_touch_outcome button.btn-primary[data-outcome='positive']",
        },
        {
            content: "Say why",
            trigger: ".o-mail-ActivityMarkAsDone textarea",
            run: "edit Liked the trend report",
        },
        {
            content: "Done",
            trigger: ".o-mail-ActivityMarkAsDone button[aria-label='Done']",
            run: "click",
        },
        {
            content: "The touch is logged with its outcome",
            trigger: ".o-mail-Message:contains('Liked the trend report'):contains('Positive')",
        },
        {
            content: "The next call is already planned",
            trigger:
                ".o-mail-Activity:contains('Weekly call: industry trend report'):contains('Due in')",
        },
    ],
});

registry.category("web_tour.tours").add("customer_tiering_day_tour", {
    steps: () => [
        {
            content: "Confirm the order that makes the customer strategic",
            trigger: "button[name='action_confirm']",
            run: "click",
        },
        {
            content: "The order is confirmed",
            trigger: ".o_statusbar_status .o_arrow_button_current:contains('Sales Order')",
        },
        {
            content: "Open the activity menu",
            trigger: ".o_menu_systray i[aria-label='Activities']",
            run: "click",
        },
        {
            content: "The new plan's follow-up is there at once",
            trigger: ".o-mail-ActivityGroup:contains('Contact')",
            run: "click",
        },
        {
            content: "Open the customer",
            trigger:
                ".o_kanban_record:contains('Tour Day Customer'), .o_data_row:contains('Tour Day Customer') td.o_data_cell",
            run: "click",
        },
        {
            content: "Open the tiering tab",
            trigger: "a.nav-link:contains('Tiering')",
            run: "click",
        },
        {
            content: "The planned call is listed, no touch yet",
            trigger:
                "body:not(:has(div[name='customer_touch_ids'] .o_data_row)) div[name='customer_followup_ids'] .o_data_row:contains('Weekly call: industry trend report')",
        },
        {
            content: "Mark the planned call done in the chatter",
            trigger:
                ".o-mail-Activity:contains('Weekly call: industry trend report') .o-mail-Activity-markDone",
            run: "click",
        },
        {
            content: "Done",
            trigger: ".o-mail-ActivityMarkAsDone button[aria-label='Done']",
            run: "click",
        },
        {
            content: "The tiering tab shows the touch without reload",
            trigger:
                "div[name='customer_touch_ids'] .o_data_row:contains('Weekly call: industry trend report')",
        },
    ],
});

// Row 40 of the Key Accounts dashboard (the "At-risk customers" title, a link
// to the at-risk Key Accounts) starts 948 px down: 39 rows of 23 px and the
// titles of rows 6, 20 and 30 at 40 px (bin/make_dashboard.py's layout).
const AT_RISK_TITLE_TOP = 948;

registry.category("web_tour.tours").add("customer_tiering_manager_cockpit_tour", {
    steps: () => [
        stepUtils.showAppsMenuItem(),
        {
            content: "Open the Dashboards app",
            trigger: ".o_app[data-menu-xmlid='spreadsheet_dashboard.spreadsheet_dashboard_menu_root']",
            run: "click",
        },
        {
            content: "Choose the Key Accounts dashboard",
            trigger: ".o_spreadsheet_dashboard_search_panel li:contains('Key Accounts')",
            run: "click",
        },
        {
            content: "The Key Accounts dashboard is the one shown",
            trigger: ".o_spreadsheet_dashboard_search_panel li.active:contains('Key Accounts')",
        },
        {
            content: "It renders: its grid, its charts and its live pivots' cells",
            trigger:
                ".o_spreadsheet_dashboard_action:has(.o-figure):has(.o-grid canvas) " +
                ".o-dashboard-clickable-cell[style*='height:23px']",
        },
        {
            content: "Scroll down to the at-risk customers",
            trigger: ".o_spreadsheet_dashboard_action .o-grid.o-two-columns",
            run() {
                this.anchor.dispatchEvent(
                    new WheelEvent("wheel", {
                        deltaY: AT_RISK_TITLE_TOP,
                        bubbles: true,
                        cancelable: true,
                    })
                );
            },
        },
        {
            content: "Drill into the at-risk customers (the section's title)",
            trigger:
                ".o-dashboard-clickable-cell[style*='top:0px; left:0px;'][style*='height:40px']",
            run: "click",
        },
        {
            content: "The at-risk Key Accounts: the demo salesperson's customer, nothing else",
            trigger:
                ".o_list_view:not(:has(.o_data_row:not(:contains('At Risk')))) " +
                ".o_data_row:contains('Tianfu Software'):contains('Marc Demo')",
        },
        {
            content: "Open the customer's Key Account",
            trigger: ".o_data_row:contains('Tianfu Software') td[name='partner_id']",
            run: "click",
        },
        {
            content: "Open the customer",
            trigger: ".o_form_view .o_field_widget[name='partner_id'] a:contains('Tianfu Software')",
            run: "click",
        },
        {
            content: "The customer's form",
            trigger:
                "body:has(.o_breadcrumb .o_last_breadcrumb_item:contains('Tianfu Software')) " +
                ".o_form_view .o_field_widget[name='vat']",
            run() {
                // Record the report's download: the tour checks it below.
                const _download = download._download;
                download._download = async (options) => {
                    download._download = _download;
                    const result = await _download(options);
                    document.body.dataset.customerTieringDownload = JSON.parse(
                        options.data.data
                    )[0];
                    return result;
                };
            },
        },
        {
            content: "Open the actions menu",
            trigger: ".o_control_panel .o_cp_action_menus button:has(.fa-cog)",
            run: "click",
        },
        {
            content: "Print > Account Review",
            trigger: ".o-dropdown--menu .o_menu_item:has(.fa-print):contains('Account Review')",
            run: "click",
        },
        {
            content: "The account review PDF of the customer was downloaded",
            trigger:
                "body[data-customer-tiering-download^='/report/pdf/customer_tiering.report_account_review/']:not(:has(.o_error_dialog))",
        },
        stepUtils.showAppsMenuItem(),
        {
            content: "Open Sales",
            trigger: ".o_app[data-menu-xmlid='sale.sale_menu_root']",
            run: "click",
        },
        {
            content: "Orders",
            trigger: ".o_menu_sections button[data-menu-xmlid='sale.sale_order_menu']",
            run: "click",
        },
        {
            content: "Tier Requests",
            trigger:
                ".o-dropdown--menu a[data-menu-xmlid='customer_tiering.menu_customer_tier_request']",
            run: "click",
        },
        {
            content: "A manager starts on the requests to review",
            trigger: ".o_searchview_facet:contains('To Review')",
        },
        {
            content: "Open the demo salesperson's request",
            trigger:
                ".o_data_row:contains('Tianfu Software'):contains('Marc Demo'):contains('Potential') td[name='partner_id']",
            run: "click",
        },
        {
            content: "The request is submitted, with its reason",
            trigger:
                ".o_form_view:has(.o_statusbar_status .o_arrow_button_current:contains('Submitted')) " +
                ".o_field_widget[name='reason']:contains('Tour: reference project')",
        },
        {
            content: "Approve",
            trigger: ".o_form_view button[name='action_approve']",
            run: "click",
        },
        {
            content: "Confirm",
            trigger: ".modal-footer .btn-primary",
            run: "click",
        },
        {
            content: "The request is approved, the approver recorded",
            trigger:
                "body:not(:has(.modal)) .o_form_view:has(.o_field_widget[name='reviewed_by']:contains('Tour Sales Manager')) " +
                ".o_statusbar_status .o_arrow_button_current:contains('Approved')",
        },
        {
            content: "Open the customer",
            trigger: ".o_form_view .o_field_widget[name='partner_id'] a:contains('Tianfu Software')",
            run: "click",
        },
        {
            content: "The customer carries the requested tier",
            trigger: ".o_field_customer_tier_badge:contains('Potential')",
        },
        {
            content: "Open the tiering tab",
            trigger: "a.nav-link:contains('Tiering')",
            run: "click",
        },
        {
            content: "The override carries the request's reason and its approver",
            trigger:
                ".o_form_view:has(.o_field_widget[name='customer_override_user_id']:contains('Tour Sales Manager')) " +
                ".o_field_widget[name='customer_override_reason']:contains('Tour: reference project'):contains('requested by Marc Demo')",
        },
    ],
});
