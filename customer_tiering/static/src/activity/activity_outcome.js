/** @odoo-module **/
import {Activity} from "@mail/core/web/activity_model";
import {ActivityMarkAsDone} from "@mail/core/web/activity_markasdone_popover";
import {_t} from "@web/core/l10n/translation";
import {patch} from "@web/core/utils/patch";
import {useState} from "@odoo/owl";

/**
 * Plan follow-ups (activities linked to a maintenance plan touch) ask for the
 * customer's reaction in the standard "Mark Done" popover; the outcome is
 * stored on the activity just before it is marked done, and the server
 * records it with the touch.
 */
patch(ActivityMarkAsDone.prototype, {
    setup() {
        super.setup();
        this.customerTouch = useState({
            outcome: this.props.activity.customer_touch_outcome || false,
        });
    },
    get customerTouchOutcomes() {
        return [
            {value: "positive", label: _t("Positive"), icon: "fa-smile-o"},
            {value: "neutral", label: _t("Neutral"), icon: "fa-meh-o"},
            {value: "negative", label: _t("Negative"), icon: "fa-frown-o"},
        ];
    },
    onClickCustomerTouchOutcome(value) {
        this.customerTouch.outcome = value;
        this.props.activity.customer_touch_outcome = value;
    },
});

patch(Activity.prototype, {
    async _saveCustomerTouchOutcome() {
        if (this.customer_plan_line_id && this.customer_touch_outcome) {
            await this.store.env.services.orm.write("mail.activity", [this.id], {
                customer_touch_outcome: this.customer_touch_outcome,
            });
        }
    },
    async markAsDone() {
        await this._saveCustomerTouchOutcome();
        return super.markAsDone(...arguments);
    },
    async markAsDoneAndScheduleNext() {
        await this._saveCustomerTouchOutcome();
        return super.markAsDoneAndScheduleNext(...arguments);
    },
});
