/** @odoo-module **/
import {registry} from "@web/core/registry";

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
