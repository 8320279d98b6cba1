# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The addon's records about a customer belong to the customer itself (the
commercial partner, i.e. the company), never to one of its contacts."""


def commercial_partner_vals(env, vals):
    """``vals`` with its ``partner_id`` (if any) replaced by that partner's
    commercial partner."""
    if vals.get("partner_id"):
        partner = env["res.partner"].browse(vals["partner_id"])
        vals = {**vals, "partner_id": partner.commercial_partner_id.id}
    return vals
