# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import logging
from collections import defaultdict

from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.models import LOG_ACCESS_COLUMNS
from odoo.tools import SQL

from ..engine import cadence
from .customer_touch import OUTCOMES
from .sql_arrays import array_literal, insert_rows

_logger = logging.getLogger(__name__)


class MailActivity(models.Model):
    """Plan follow-ups are ordinary activities on the customer, linked to the
    plan touch they carry out.  Completing one records the touch (with the
    customer's reaction) and schedules the next one from that day."""

    _inherit = "mail.activity"

    customer_plan_line_id = fields.Many2one(
        "customer.maintenance.plan.line",
        string="Plan Touch",
        index="btree_not_null",
        ondelete="set null",
        readonly=True,
        groups="customer_tiering.group_customer_tiering_user",
    )
    customer_profile_id = fields.Many2one(
        "customer.profile",
        string="Tiering Profile",
        index="btree_not_null",
        ondelete="set null",
        readonly=True,
        groups="customer_tiering.group_customer_tiering_user",
    )
    customer_touch_outcome = fields.Selection(
        OUTCOMES,
        string="Outcome",
        help="How the customer reacted to this touch.",
        groups="customer_tiering.group_customer_tiering_user",
    )
    customer_touch_note = fields.Text(
        string="Outcome Note",
        help="Why the customer reacted so, next step.",
        groups="customer_tiering.group_customer_tiering_user",
    )

    @api.model
    def _customer_create_bulk(self, vals_list):
        """Create activities in bulk with what ``create`` gives them, at a
        fraction of its cost.

        Measured at 20,000 customers, ``create`` costs about 1 ms per
        activity, nearly all of it per record: the defaults, the precomputed
        fields and the document's name one record at a time, then one ORM
        follower record (with its subtypes) per activity through
        ``message_subscribe`` (about 0.5 ms each); the ORM's low-level
        ``_create`` with everything given still costs about 0.25 ms per
        activity in Python (cache and inverse updates of every field).  So:

        - the default values read once for all, the stored computed values
          given (``res_model``, the document's name read in one batch, the
          owner's time zone), one INSERT per 500 rows, each value converted
          (sanitized) by its field as the ORM does, then what ``_create``
          does after its INSERT: dependent fields marked to recompute, the
          inverse one2many fields invalidated, Python constraints checked;
        - no "assigned to you" e-mail (as ``mail_activity_quick_update``);
        - the owners follow the documents with their default subtypes: one
          INSERT ... ON CONFLICT DO NOTHING (a follower once per document and
          partner, whatever the duplicates in ``vals_list``);
        - one bus notification per owner with an activity due today, the
          signal for the activity menu (systray counter) to reload.

        Call it as superuser: no access right is checked.
        """
        if not vals_list:
            return self.browse()
        given = {name for vals in vals_list for name in vals}
        missing = [
            name
            for name, field in self._fields.items()
            if field.store and not field.compute and name not in given
        ]
        defaults = self.default_get(missing)
        models_by_id = {
            model_id: self.env["ir.model"].browse(model_id).model
            for model_id in {vals["res_model_id"] for vals in vals_list}
        }
        doc_ids = defaultdict(set)
        for vals in vals_list:
            doc_ids[models_by_id[vals["res_model_id"]]].add(vals["res_id"])
        # One batch per model, as superuser: the name is a stored copy.
        names = {
            (model, doc.id): doc.display_name
            for model, ids in doc_ids.items()
            for doc in self.env[model].sudo().browse(list(ids))
        }
        users = self.env["res.users"].sudo().browse({v["user_id"] for v in vals_list})
        now = self.env.cr.now()
        log = dict.fromkeys(LOG_ACCESS_COLUMNS, self.env.uid)
        log.update(create_date=now, write_date=now)
        tz = {user.id: user.tz for user in users}
        rows = []
        for vals in vals_list:
            model = models_by_id[vals["res_model_id"]]
            rows.append(
                {
                    **defaults,
                    **vals,
                    **log,
                    "res_model": model,
                    "res_name": names[model, vals["res_id"]],
                    "user_tz": tz[vals["user_id"]],
                    "date_done": False,
                }
            )
        activities = insert_rows(self, rows)
        self._customer_subscribe_owners(
            {(row["res_model"], row["res_id"], row["user_id"]) for row in rows}
        )
        today = fields.Date.today()  # as mail.activity.create
        users.browse(
            {row["user_id"] for row in rows if row["date_deadline"] <= today}
        )._bus_send("mail.activity/updated", {"activity_created": True})
        return activities

    def _customer_subscribe_owners(self, documents):
        """The owners follow their documents (if not yet), with the default
        subtypes of the document's model, in one INSERT; ``documents`` are
        (model, record id, user id) triples."""
        users = self.env["res.users"].sudo().browse({uid for __, __, uid in documents})
        partner = {user.id: user.partner_id for user in users}
        Subtype = self.env["mail.message.subtype"].sudo()
        subtypes = {}
        rows = set()
        for model, res_id, user_id in documents:
            if not partner[user_id].active:  # as message_subscribe
                continue
            if model not in subtypes:
                default, __, external = Subtype.default_subtypes(model)
                subtypes[model] = (default.ids, external.ids)
            rows.add(
                (model, res_id, partner[user_id].id, partner[user_id].partner_share)
            )
        if not rows:
            return
        rows = list(rows)
        Followers = self.env["mail.followers"]
        Followers.flush_model()
        subtype_rows = {
            (model, partner_id, subtype_id)
            for model, __, partner_id, share in rows
            for subtype_id in subtypes[model][1 if share else 0]
        }
        subtype_rows = list(subtype_rows)
        self.env.cr.execute(
            SQL(
                """
                WITH new AS (
                    INSERT INTO mail_followers (res_model, res_id, partner_id)
                    SELECT * FROM unnest(%s::varchar[], %s::int4[], %s::int4[])
                    ON CONFLICT DO NOTHING
                    RETURNING id, res_model, partner_id
                )
                INSERT INTO mail_followers_mail_message_subtype_rel
                       (mail_followers_id, mail_message_subtype_id)
                SELECT new.id, s.subtype_id
                  FROM new
                  JOIN unnest(%s::varchar[], %s::int4[], %s::int4[])
                       AS s(res_model, partner_id, subtype_id)
                    ON s.res_model = new.res_model AND s.partner_id = new.partner_id
                """,
                *(array_literal([row[i] for row in rows]) for i in range(3)),
                *(array_literal([row[i] for row in subtype_rows]) for i in range(3)),
            )
        )
        Followers.invalidate_model()
        for model in subtypes:
            Model = self.env[model]
            Model.invalidate_model(
                [
                    name
                    for name in ("message_follower_ids", "message_partner_ids")
                    if name in Model._fields
                ]
            )

    def _customer_planned(self):
        """These activities that carry out a plan touch, as superuser: whoever
        may complete an activity completes a plan follow-up (the fallback
        owner may be no tiering user), and recording it is system work."""
        return self.sudo().filtered(
            lambda a: a.active and a.customer_plan_line_id and a.customer_profile_id
        )

    def _customer_record_touches(self, state, feedback=False):
        """Record these plan activities as touches (done or missed)."""
        now = fields.Datetime.now()
        values = []
        for activity in self:
            profile, line = activity.customer_profile_id, activity.customer_plan_line_id
            # The day of the touch in the time zone of whoever closes it.
            closer = self.env.user if state == "done" else activity.user_id
            notes = [activity.customer_touch_note, feedback if state == "done" else ""]
            values.append(
                {
                    "profile_id": profile.id,
                    "partner_id": profile.partner_id.id,
                    "company_id": profile.company_id.id,
                    "tier_id": profile.tier_id.id,
                    "plan_id": line.plan_id.id,
                    "plan_line_id": line.id,
                    "activity_type_id": activity.activity_type_id.id,
                    "summary": activity.summary or line.name,
                    "date": cadence.local_date(now, closer.tz),
                    "deadline": activity.date_deadline,
                    "user_id": activity.user_id.id,
                    "state": state,
                    "outcome": activity.customer_touch_outcome
                    if state == "done"
                    else False,
                    "note": "\n".join(filter(None, notes)) or False,
                }
            )
        # sudo: touches are recorded by the system; users only complete their
        # activities (and may then correct the outcome of their own touches).
        return self.env["customer.touch"].sudo().create(values)

    def _customer_overdue_profiles(self):
        """The profiles (as superuser) of the customers of these activities
        that are overdue: completing one changes the customer's health."""
        today = fields.Date.context_today(self)
        partner_ids = {
            a.res_id
            for a in self.sudo()
            if a.res_model == "res.partner" and a.date_deadline < today
        }
        if not partner_ids:
            return self.env["customer.profile"].sudo()
        commercial = self.env["res.partner"].sudo().browse(partner_ids)
        # Existing profiles only: an activity never creates one.
        return (
            self.env["customer.profile"]
            .sudo()
            .search([("partner_id", "in", commercial.commercial_partner_id.ids)])
        )

    @api.model
    def _customer_rescore(self, profiles):
        """Evaluate ``profiles`` again at once, per company."""
        for company, company_profiles in profiles.grouped("company_id").items():
            try:
                company_profiles.with_company(company)._refresh()
            except UserError as error:
                # An unusable ladder must not block completing an activity
                # (the nightly run and the Settings report it).
                _logger.error(
                    "customer_tiering: customers %s not re-evaluated: %s",
                    company_profiles.partner_id.ids,
                    error,
                )

    def _action_done(self, feedback=False, attachment_ids=None):
        planned = self._customer_planned()
        # The customer's engagement and overdue activities count it at once.
        rescore = self._customer_overdue_profiles()
        if not planned:
            result = super()._action_done(
                feedback=feedback, attachment_ids=attachment_ids
            )
            self._customer_rescore(rescore)
            return result
        planned._customer_record_touches("done", feedback)
        pairs = {
            (a.customer_profile_id.id, a.customer_plan_line_id.id) for a in planned
        }
        profiles = planned.customer_profile_id
        if len(self) == 1 and planned.customer_touch_outcome:
            # Show the customer's reaction in the "activity done" message.
            labels = dict(
                self._fields["customer_touch_outcome"]._description_selection(self.env)
            )
            feedback = self.env._(
                "Outcome: %(outcome)s. %(feedback)s",
                outcome=labels[planned.customer_touch_outcome],
                feedback=feedback or "",
            ).strip()
        result = super(
            MailActivity, self.with_context(customer_touch_recorded=True)
        )._action_done(feedback=feedback, attachment_ids=attachment_ids)
        # The next touch of each completed line is due one interval after today.
        for company, company_profiles in profiles.grouped("company_id").items():
            company_profiles.with_company(company)._schedule_followups(
                eager=pairs, only=pairs
            )
        self._customer_rescore(profiles | rescore)
        return result

    def unlink(self):
        if not self.env.context.get("customer_touch_recorded"):
            # A plan follow-up cancelled once due is a missed touch: it counts
            # against compliance and the rhythm goes on from today.
            now = fields.Datetime.now()
            self._customer_planned().filtered(
                lambda a: a.date_deadline <= cadence.local_date(now, a.user_id.tz)
            )._customer_record_touches("missed")
        return super().unlink()
