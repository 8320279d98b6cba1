# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from markupsafe import Markup

from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tools import SQL

STATES = [
    ("draft", "Draft"),
    ("submitted", "Submitted"),
    ("approved", "Approved"),
    ("rejected", "Rejected"),
    ("cancelled", "Cancelled"),
]
OPEN_STATES = ("draft", "submitted")
# Written by the request's own actions only (see write()).
WORKFLOW_FIELDS = {
    "state",
    "requested_by",
    "current_tier_id",
    "reviewed_by",
    "reviewed_on",
    "reject_reason",
    "history_id",
}
ACTIVITY_TYPE = "customer_tiering.mail_activity_type_tier_request"
MANAGER_GROUP = "customer_tiering.group_customer_tiering_manager"


class CustomerTierRequest(models.Model):
    """A salesperson's request for a tier review (the seeds' appeal procedure
    for disputed evaluations): the tiering managers approve it, which sets
    an override, or reject it with a reason."""

    _name = "customer.tier.request"
    _description = "Customer Tier Review Request"
    _inherit = ["mail.thread", "mail.activity.mixin"]
    _order = "id desc"
    _check_company_auto = True

    partner_id = fields.Many2one(
        "res.partner",
        string="Customer",
        required=True,
        index=True,
        ondelete="cascade",
        tracking=True,
        domain="[('is_company', '=', True)]",
    )
    company_id = fields.Many2one(
        "res.company",
        required=True,
        index=True,
        default=lambda self: self.env.company,
    )
    salesperson_id = fields.Many2one(related="partner_id.user_id", string="Salesperson")
    current_tier_id = fields.Many2one(
        "customer.tier",
        string="Tier When Requested",
        readonly=True,
        ondelete="set null",
        help="The tier the customer carried when the request was made.",
    )
    requested_tier_id = fields.Many2one(
        "customer.tier",
        required=True,
        ondelete="restrict",
        tracking=True,
        domain="[('company_id', 'in', [company_id, False])]",
    )
    reason = fields.Text(
        required=True,
        help="Why the customer deserves another tier: a reference customer, a "
        "disputed evaluation, a strategic project...",
    )
    until = fields.Date(
        string="Ends On",
        help="When approved, the override ends on this day. Leave empty for an "
        "override without end.",
    )
    requested_by = fields.Many2one(
        "res.users",
        required=True,
        readonly=True,
        index=True,
        default=lambda self: self.env.user,
    )
    state = fields.Selection(
        STATES, required=True, default="draft", readonly=True, tracking=True
    )
    reviewed_by = fields.Many2one(
        "res.users", readonly=True, tracking=True, help="Who approved or rejected."
    )
    reviewed_on = fields.Datetime(readonly=True)
    reject_reason = fields.Text(string="Rejection Reason", readonly=True)
    history_id = fields.Many2one(
        "customer.tier.history",
        string="Tier Change",
        readonly=True,
        ondelete="set null",
        help="The tier history entry of the approved override.",
    )

    def init(self):
        # One open request per customer and company, also under concurrent
        # submissions (the Python constraint gives the readable message).
        self.env.cr.execute(
            SQL(
                "CREATE UNIQUE INDEX IF NOT EXISTS customer_tier_request_open_uniq "
                "ON %s (partner_id, company_id) "
                "WHERE state IN ('draft', 'submitted')",
                SQL.identifier(self._table),
            )
        )

    @api.depends("partner_id", "requested_tier_id")
    def _compute_display_name(self):
        for request in self:
            request.display_name = self.env._(
                "%(customer)s: %(tier)s",
                customer=request.partner_id.display_name or "",
                tier=request.requested_tier_id.name or "",
            )

    # ------------------------------------------------------------------
    # CRUD and constraints
    # ------------------------------------------------------------------
    @api.model_create_multi
    def create(self, vals_list):
        Partner = self.env["res.partner"]
        for vals in vals_list:
            if not self.env.su:
                # The workflow sets these; a new request is the user's draft.
                for name in WORKFLOW_FIELDS:
                    vals.pop(name, None)
                vals["requested_by"] = self.env.uid
            if vals.get("partner_id"):
                # Requests are for the customer (the company), never a contact.
                partner = Partner.browse(vals["partner_id"]).commercial_partner_id
                company = self.env["res.company"].browse(
                    vals.get("company_id") or self.env.company.id
                )
                vals["partner_id"] = partner.id
                vals["current_tier_id"] = partner.with_company(
                    company
                ).customer_tier_id.id
        # Before the INSERT: the unique index would raise a less readable error.
        self._check_no_open_request(
            [
                (vals["partner_id"], vals.get("company_id") or self.env.company.id)
                for vals in vals_list
                if vals.get("partner_id") and vals.get("state", "draft") in OPEN_STATES
            ]
        )
        return super().create(vals_list)

    def write(self, vals):
        if not self.env.su:
            if set(vals) & WORKFLOW_FIELDS:
                raise AccessError(
                    self.env._(
                        "Use the request's buttons to submit, approve, reject or "
                        "cancel it."
                    )
                )
            if any(request.state != "draft" for request in self):
                raise UserError(self.env._("Only draft requests can be changed."))
        return super().write(vals)

    @api.constrains("partner_id", "company_id", "state")
    def _check_one_open(self):
        self._check_no_open_request(
            [
                (r.partner_id.id, r.company_id.id)
                for r in self
                if r.state in OPEN_STATES
            ],
            exclude=self.ids,
        )

    @api.model
    def _check_no_open_request(self, keys, exclude=()):
        """Raise if a (partner id, company id) of ``keys`` repeats or already
        has an open request (other than ``exclude``)."""
        if not keys:
            return
        # sudo: another salesperson's open request for the same customer
        # counts too, whether or not this user may read it.
        others = self.sudo().search(
            [
                ("partner_id", "in", [key[0] for key in keys]),
                ("company_id", "in", [key[1] for key in keys]),
                ("state", "in", OPEN_STATES),
                ("id", "not in", list(exclude)),
            ]
        )
        seen = {(r.partner_id.id, r.company_id.id) for r in others}
        for key in keys:
            if key in seen:
                raise ValidationError(
                    self.env._(
                        "%(customer)s already has an open tier review request "
                        "in %(company)s.",
                        customer=self.env["res.partner"].browse(key[0]).display_name,
                        company=self.env["res.company"].browse(key[1]).name,
                    )
                )
            seen.add(key)

    @api.constrains("requested_tier_id", "company_id")
    def _check_requested_tier(self):
        Tier = self.env["customer.tier"]
        for request in self:
            if request.requested_tier_id not in Tier._get_ladder(request.company_id):
                raise ValidationError(
                    self.env._(
                        "Tier %(tier)s is not part of the ladder of %(company)s.",
                        tier=request.requested_tier_id.name,
                        company=request.company_id.name,
                    )
                )

    @api.constrains("until")
    def _check_until(self):
        today = fields.Date.context_today(self)
        for request in self:
            if request.state in OPEN_STATES and request.until and request.until < today:
                raise ValidationError(
                    self.env._("The requested override cannot end in the past.")
                )

    # ------------------------------------------------------------------
    # Workflow
    # ------------------------------------------------------------------
    def _set_state(self, vals):
        """Workflow writes: the caller has checked the user's rights."""
        self.check_access("write")
        # sudo: workflow fields are closed to plain writes (see write());
        # the access to these records was checked just above.
        self.sudo().write(vals)

    def _check_state(self, allowed):
        for request in self:
            if request.state not in allowed:
                state = dict(self._fields["state"]._description_selection(self.env))
                raise UserError(
                    self.env._(
                        "The request for %(customer)s is %(state)s: this cannot "
                        "be done any more.",
                        customer=request.partner_id.display_name,
                        state=state[request.state],
                    )
                )

    @api.model
    def _reviewers(self, company):
        """The Customer Tiering managers of ``company`` (real, internal users)."""
        group = self.env.ref(MANAGER_GROUP)
        return (
            self.env["res.users"]
            .sudo()  # sudo: salespeople may not read the groups' members.
            .search(
                [
                    ("groups_id", "in", group.ids),
                    ("company_ids", "in", company.ids),
                    ("share", "=", False),
                ]
            )
        )

    def action_submit(self):
        self._check_state(("draft",))
        self._set_state({"state": "submitted"})
        for request in self:
            reviewers = self._reviewers(request.company_id) - request.requested_by
            for reviewer in reviewers:
                Request = request.with_context(lang=reviewer.lang or "en_US")
                # sudo: the salesperson plans the activity for a manager on a
                # record they may read; activities of others are not theirs
                # to write.
                Request.sudo().activity_schedule(
                    ACTIVITY_TYPE,
                    user_id=reviewer.id,
                    summary=Request.env._(
                        "Review the tier of %(customer)s: %(tier)s requested",
                        customer=request.partner_id.display_name,
                        tier=request.requested_tier_id.with_context(
                            lang=reviewer.lang or "en_US"
                        ).name,
                    ),
                    note=Markup("<p>%s</p>") % request.reason,
                )
        return True

    def action_cancel(self):
        self._check_state(OPEN_STATES)
        for request in self:
            if request.requested_by != self.env.user and not self.env.user.has_group(
                MANAGER_GROUP
            ):
                raise AccessError(
                    self.env._("Only the requester or a manager can cancel it.")
                )
        self._set_state({"state": "cancelled"})
        # sudo: the managers' review activities go with the request.
        self.sudo().activity_unlink([ACTIVITY_TYPE])
        return True

    def action_approve(self):
        """Set the requested tier as an override, as a manager would with the
        override wizard (reason and end date from the request)."""
        self.env["customer.profile"]._check_manager()
        self._check_state(("submitted",))
        Wizard = self.env["customer.tier.override.wizard"]
        for request in self:
            profile = request._profile()
            before = max(profile.history_ids.ids or [0])
            reason = self.env._(
                "%(reason)s (tier review requested by %(user)s)",
                reason=request.reason.strip(),
                user=request.requested_by.name,
            )
            Wizard.with_company(request.company_id).create(
                {
                    "partner_id": request.partner_id.id,
                    "company_id": request.company_id.id,
                    "tier_id": request.requested_tier_id.id,
                    "reason": reason,
                    "until": request.until,
                }
            ).action_apply()
            profile = request._profile()
            history = profile.history_ids.filtered(lambda h, b=before: h.id > b)
            request._set_state(
                {
                    "state": "approved",
                    "reviewed_by": self.env.uid,
                    "reviewed_on": fields.Datetime.now(),
                    "history_id": history.sorted("id")[-1:].id,
                }
            )
            request._close_review_activities()
            request._notify_requester("approved")
        return True

    def action_reject(self):
        self.env["customer.profile"]._check_manager()
        self._check_state(("submitted",))
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Reject Tier Review Request"),
            "res_model": "customer.tier.request.reject.wizard",
            "view_mode": "form",
            "views": [(False, "form")],
            "target": "new",
            "context": {"default_request_ids": self.ids},
        }

    def _reject(self, reason):
        self.env["customer.profile"]._check_manager()
        self._check_state(("submitted",))
        reason = (reason or "").strip()
        if not reason:
            raise UserError(self.env._("Give the reason for the rejection."))
        self._set_state(
            {
                "state": "rejected",
                "reject_reason": reason,
                "reviewed_by": self.env.uid,
                "reviewed_on": fields.Datetime.now(),
            }
        )
        for request in self:
            request._close_review_activities()
            request._notify_requester("rejected")
        return True

    def _profile(self):
        self.ensure_one()
        return self.env["customer.profile"].search(
            [
                ("partner_id", "=", self.partner_id.id),
                ("company_id", "=", self.company_id.id),
            ],
            limit=1,
        )

    def _close_review_activities(self):
        """The reviewer's activity is done; the other managers' go away."""
        # sudo: the activities belong to each manager.
        self.sudo().activity_feedback([ACTIVITY_TYPE], user_id=self.env.uid)
        self.sudo().activity_unlink([ACTIVITY_TYPE])

    def _notify_requester(self, outcome):
        """A message to the requester, in the requester's language."""
        self.ensure_one()
        requester = self.requested_by
        lang = requester.lang or self.env.lang or "en_US"
        request = self.with_context(lang=lang)
        tier = self.requested_tier_id.with_context(lang=lang).name
        customer = self.partner_id.display_name
        if outcome == "approved":
            text = request.env._(
                "Your tier review request for %(customer)s was approved by "
                "%(user)s: the customer now carries tier %(tier)s.",
                customer=customer,
                user=self.env.user.name,
                tier=tier,
            )
            if self.until:
                text += " " + request.env._(
                    "The override ends on %(date)s.",
                    date=fields.Date.to_string(self.until),
                )
        else:
            text = request.env._(
                "Your tier review request for %(customer)s (tier %(tier)s) was "
                "rejected by %(user)s. Reason: %(reason)s",
                customer=customer,
                tier=tier,
                user=self.env.user.name,
                reason=self.reject_reason,
            )
        self.message_post(
            body=Markup("<p>%s</p>") % text,
            partner_ids=requester.partner_id.ids,
            message_type="comment",
            subtype_xmlid="mail.mt_comment",
        )

    @api.model
    def _action_open_requests(self):
        """The Tier Requests menu: managers start on the requests to review."""
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "customer_tiering.action_customer_tier_request"
        )
        if self.env.user.has_group(MANAGER_GROUP):
            action["context"] = {"search_default_to_review": 1}
        else:
            action["context"] = {"search_default_open": 1}
        return action
