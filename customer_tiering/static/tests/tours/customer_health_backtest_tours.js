/** @odoo-module **/
import {formatDate} from "@web/core/l10n/dates";
import {registry} from "@web/core/registry";
import {stepUtils} from "@web_tour/tour_service/tour_utils";

const {DateTime} = luxon;

// The Python side runs the scheduler once for each of these notes
// (test_tour.py, test_manager_backtests_and_applies_a_draft).
const GO = "Tour: scheduler, go";

function askScheduler() {
    return [
        {
            content: "Log a note (the test's scheduler waits for it)",
            trigger: ".o-mail-Chatter button.o-mail-Chatter-logNote",
            run: "click",
        },
        {
            trigger: ".o-mail-Chatter .o-mail-Composer-input",
            run: `edit ${GO}`,
        },
        {
            trigger: ".o-mail-Chatter .o-mail-Composer-send:enabled",
            run: "click",
        },
        {
            trigger: `.o-mail-Chatter .o-mail-Message:contains('${GO}')`,
        },
    ];
}

function waitForDone() {
    return {
        content: "Done, shown without a reload (the bus notification reloads the form)",
        trigger:
            ".o_form_view:has(.o_statusbar_status .o_arrow_button_current:contains('Done')) " +
            ".o_field_widget[name='precision']",
        timeout: 60000,
    };
}

registry.category("web_tour.tours").add("customer_tiering_backtest_tour", {
    steps: () => [
        stepUtils.showAppsMenuItem(),
        {
            content: "Open Sales",
            trigger: ".o_app[data-menu-xmlid='sale.sale_menu_root']",
            run: "click",
        },
        {
            content: "Configuration",
            trigger: ".o_menu_sections button[data-menu-xmlid='sale.menu_sale_config']",
            run: "click",
        },
        {
            content: "Health Backtests",
            trigger:
                ".o-dropdown--menu a[data-menu-xmlid='customer_tiering.menu_customer_health_backtest']",
            run: "click",
        },
        {
            content: "New backtest",
            trigger: ".o_list_view .o_list_button_add, .o_control_panel .o_list_button_add",
            run: "click",
        },
        {
            trigger: ".o_form_view div[name='name'] input",
            run: "edit Tour backtest",
        },
        {
            content: "First evaluation day: two years ago",
            trigger: ".o_form_view div[name='date_from'] input",
            run: `edit ${formatDate(DateTime.now().minus({months: 24}))}`,
        },
        {
            content: "Last evaluation day: seven months ago (the six after are known)",
            trigger: ".o_form_view div[name='date_to'] input",
            run: `edit ${formatDate(DateTime.now().minus({months: 7}))}`,
        },
        {
            trigger: ".o_form_view .o_form_button_save",
            run: "click",
        },
        {
            content: "Start",
            trigger: ".o_form_view:not(:has(.o_form_dirty)) button[name='action_start']",
            run: "click",
        },
        {
            content: "Running: the progress shows, no day done yet",
            trigger:
                ".o_form_view:has(.o_statusbar_status .o_arrow_button_current:contains('Running')) " +
                ".o_customer_tiering_progress:has(div[name='days_done']:contains('0')) " +
                ".o_field_widget[name='progress'] .o_progressbar",
        },
        ...askScheduler(),
        waitForDone(),
        {
            content: "The results",
            trigger: ".o_notebook a.nav-link:contains('Results')",
            run: "click",
        },
        {
            trigger: ".o_field_widget[name='result_html'] table",
        },
        {
            content: "Suggest weights: queued",
            trigger: ".o_form_view button[name='action_suggest_weights']",
            run: "click",
        },
        {
            trigger: ".o_customer_tiering_suggesting:contains('Suggesting weights')",
        },
        ...askScheduler(),
        {
            content: "The suggested draft is there without a reload",
            trigger:
                ".o_form_view:not(:has(.o_customer_tiering_suggesting:visible)) " +
                "button[name='action_open_suggested']",
            timeout: 60000,
        },
        {
            content: "Compare a draft scorecard",
            trigger: ".o_form_view button[name='action_new_draft']",
            run: "click",
        },
        {
            content: "The draft: a copy of the live scorecard",
            trigger:
                ".o_form_view:has(.o_field_widget[name='name'] input:value('Tour backtest (draft)')) " +
                "div[name='draft_line_ids'] .o_data_row:contains('Purchase recency') td[name='weight']",
            run: "click",
        },
        {
            content: "Weigh recency more",
            trigger: "div[name='draft_line_ids'] .o_data_row td[name='weight'] input",
            run: "edit 55",
        },
        {
            trigger: ".o_form_view .o_form_button_save",
            run: "click",
        },
        {
            content: "Start the draft",
            trigger: ".o_form_view:not(:has(.o_form_dirty)) button[name='action_start']",
            run: "click",
        },
        {
            trigger:
                ".o_form_view .o_statusbar_status .o_arrow_button_current:contains('Running')",
        },
        ...askScheduler(),
        waitForDone(),
        {
            content: "Side by side: this draft and the live scorecard's backtest",
            trigger:
                ".o_form_view .o_inner_group:contains('This Backtest') .o_field_widget[name='recall']",
        },
        {
            trigger:
                ".o_form_view .o_inner_group:contains('Compared Backtest') .o_field_widget[name='compare_recall']",
        },
        {
            content: "Apply the draft",
            trigger: ".o_form_view button[name='action_apply_draft']",
            run: "click",
        },
        {
            content: "Confirm",
            trigger: ".modal-footer .btn-primary",
            run: "click",
        },
        {
            content: "The chatter keeps the old and the new weights",
            trigger:
                "body:not(:has(.modal)) .o-mail-Message:contains('Draft applied to the live scorecard'):contains('Purchase recency: weight 15, 100 at 30, 0 at 180 → weight 55, 100 at 30, 0 at 180')",
        },
    ],
});
