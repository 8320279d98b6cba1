/** @odoo-module **/
import {registry} from "@web/core/registry";

const {DateTime} = luxon;

registry.category("web_tour.tours").add("customer_tiering_key_moment_tour", {
    steps: () => [
        {
            content: "Open the tiering tab",
            trigger: "a.nav-link:contains('Tiering')",
            run: "click",
        },
        {
            content: "The next touch follows the normal rhythm",
            trigger: ".o_field_widget[name='customer_next_touch_date']",
        },
        {
            content: "Record a key moment",
            trigger: "button[name='action_customer_key_moment']",
            run: "click",
        },
        {
            content: "A contract renewal",
            trigger: ".modal div[name='type_id'] input",
            run: "edit Contract",
        },
        {
            trigger: ".ui-autocomplete a:contains('Contract renewal')",
            run: "click",
        },
        {
            content: "In 100 days",
            trigger: ".modal div[name='date'] input",
            run: `edit ${DateTime.now().plus({days: 100}).toFormat("MM/dd/yyyy")}`,
        },
        {
            content: "What is at stake",
            trigger: ".modal div[name='note'] textarea",
            run: "edit Tour: framework contract",
        },
        {
            content: "Save",
            trigger: ".modal .o_form_button_save",
            run: "click",
        },
        {
            content: "The form shows the coming moment",
            trigger:
                "body:not(:has(.modal)) .o_field_widget[name='customer_next_key_moment_id']:contains('Contract renewal')",
        },
        {
            content: "It is listed on the tab",
            trigger:
                ".o_field_widget[name='customer_key_moment_ids'] .o_data_row:contains('Tour: framework contract')",
        },
    ],
});
