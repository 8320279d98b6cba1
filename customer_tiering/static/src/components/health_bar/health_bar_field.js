/** @odoo-module **/
import {
    ProgressBarField,
    progressBarField,
} from "@web/views/fields/progress_bar/progress_bar_field";
import {_t} from "@web/core/l10n/translation";
import {registry} from "@web/core/registry";

const BAND_CLASSES = {
    healthy: "bg-success",
    watch: "bg-warning",
    at_risk: "bg-danger",
};

/**
 * A read-only health score out of 100, its bar coloured by the customer's
 * health band (a selection field named by the `band_field` option).
 */
export class HealthBarField extends ProgressBarField {
    static props = {
        ...ProgressBarField.props,
        bandField: {type: String, optional: true},
    };

    get isPercentage() {
        return false;
    }

    get maxValue() {
        return 100;
    }

    get progressBarColorClass() {
        const band = this.props.bandField && this.props.record.data[this.props.bandField];
        return BAND_CLASSES[band] || "bg-secondary";
    }
}

export const healthBarField = {
    ...progressBarField,
    component: HealthBarField,
    displayName: _t("Health Bar"),
    supportedTypes: ["float"],
    extractProps: (fieldInfo, dynamicInfo) => ({
        ...progressBarField.extractProps(fieldInfo, dynamicInfo),
        isEditable: false,
        bandField: fieldInfo.options.band_field,
    }),
    fieldDependencies: ({options}) =>
        options.band_field ? [{name: options.band_field, type: "selection"}] : [],
};

registry.category("fields").add("customer_health_bar", healthBarField);
