/** @odoo-module **/
import "@mail/chatter/web/chatter_patch";
import {Chatter} from "@mail/chatter/web_portal/chatter";
import {patch} from "@web/core/utils/patch";

/**
 * Completing (or changing) an activity in a customer's chatter changes what
 * its Tiering and Health tabs show: the open follow-ups, the next touch, the
 * compliance and the health score.  The form reloads them at once, as Odoo's
 * chatter does for the followers when asked to.
 */
patch(Chatter.prototype, {
    onActivityChanged(thread) {
        super.onActivityChanged(...arguments);
        const record = this.props.webRecord;
        if (
            record &&
            record.resModel === "res.partner" &&
            record.fields &&
            "customer_next_touch_date" in record.fields
        ) {
            this.reloadParentView();
        }
    },
});
