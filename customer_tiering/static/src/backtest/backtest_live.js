/** @odoo-module **/
import {Component, onWillDestroy} from "@odoo/owl";
import {registry} from "@web/core/registry";
import {useService} from "@web/core/utils/hooks";
import {standardWidgetProps} from "@web/views/widgets/standard_widget_props";

/**
 * A health backtest runs (and suggests weights) in the scheduler: each
 * evaluation day done, the run finished or failed, the suggestion made, the
 * server sends "customer_tiering.backtest_changed" on the bus to the run's
 * followers.  This invisible widget of the backtest form reloads the record
 * when it is about the one shown (unless the user is editing it), so that
 * the progress bar and the results appear without a manual reload.
 */
export class BacktestLive extends Component {
    static template = "customer_tiering.BacktestLive";
    static props = {...standardWidgetProps};

    setup() {
        this.busService = useService("bus_service");
        this.onChanged = this.onChanged.bind(this);
        this.busService.subscribe("customer_tiering.backtest_changed", this.onChanged);
        onWillDestroy(() =>
            this.busService.unsubscribe("customer_tiering.backtest_changed", this.onChanged)
        );
    }

    async onChanged(payload) {
        const record = this.props.record;
        if (!record.resId || payload.id !== record.resId || record.dirty) {
            return;
        }
        if (await record.isDirty()) {
            return;
        }
        await record.load();
    }
}

registry.category("view_widgets").add("customer_tiering_backtest_live", {
    component: BacktestLive,
});
