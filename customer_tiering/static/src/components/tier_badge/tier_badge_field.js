/** @odoo-module **/
import {BadgeField, badgeField} from "@web/views/fields/badge/badge_field";
import {_t} from "@web/core/l10n/translation";
import {registry} from "@web/core/registry";

/**
 * A badge in the tier's own colour (the colour index of customer.tier, read
 * from a related integer field named by the `color_field` option).
 */
export class TierBadgeField extends BadgeField {
    static template = "customer_tiering.TierBadgeField";
    static props = {
        ...BadgeField.props,
        colorField: {type: String, optional: true},
    };

    get colorClass() {
        const color = this.props.colorField
            ? this.props.record.data[this.props.colorField]
            : 0;
        return `o_tag o_badge_tier o_tag_color_${color || 0}`;
    }
}

export const tierBadgeField = {
    ...badgeField,
    component: TierBadgeField,
    displayName: _t("Tier Badge"),
    supportedTypes: ["many2one"],
    extractProps: ({options}) => ({colorField: options.color_field}),
    fieldDependencies: ({options}) =>
        options.color_field ? [{name: options.color_field, type: "integer"}] : [],
};

registry.category("fields").add("customer_tier_badge", tierBadgeField);
