# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Merging customers keeps their tiering trail.

Odoo's merge re-points every foreign key from the merged contacts to the
destination in SQL; where a unique key forbids it (one profile per customer
and company) it deletes the source rows, and the database cascade would take
the profile's tier history, health snapshots and touches with it.  Before
that, the profiles are merged here: per company, the destination's profile
(or, when it has none, a source profile re-pointed to it) receives the
others' history, snapshots, touches and follow-ups; open tier review
requests that would collide are cancelled; the sources' profiles go.  Once
Odoo has moved the orders, invoices and reviews, the destination is
re-evaluated at once.
"""

import logging
from collections import defaultdict

from markupsafe import Markup

from odoo import api, models
from odoo.exceptions import UserError
from odoo.tools import SQL

from ..models.customer_profile import OVERRIDE_FIELDS
from ..models.customer_tier_request import OPEN_STATES
from ..models.sql_arrays import array_literal

_logger = logging.getLogger(__name__)

# What points to a profile, by table and column.
PROFILE_CHILDREN = (
    ("customer_tier_history", "profile_id"),
    ("customer_health_snapshot", "profile_id"),
    ("customer_touch", "profile_id"),
    ("mail_activity", "customer_profile_id"),
)


class BasePartnerMergeAutomaticWizard(models.TransientModel):
    _inherit = "base.partner.merge.automatic.wizard"

    @api.model
    def _update_foreign_keys(self, src_partners, dst_partner):
        self._customer_tiering_merge_profiles(src_partners, dst_partner)
        return super()._update_foreign_keys(src_partners, dst_partner)

    @api.model
    def _update_values(self, src_partners, dst_partner):
        res = super()._update_values(src_partners, dst_partner)
        # Orders, invoices and reviews are the destination's now.
        self._customer_tiering_refresh(dst_partner)
        return res

    @api.model
    def _customer_tiering_merge_profiles(self, src_partners, dst_partner):
        """Merge the profiles of ``src_partners`` into ``dst_partner``'s, per
        company, in a constant number of statements."""
        cr = self.env.cr
        self.env.flush_all()
        cr.execute(
            SQL(
                """
                SELECT id, partner_id, company_id, override_tier_id IS NOT NULL,
                       pinned_plan_id IS NOT NULL
                  FROM customer_profile
                 WHERE partner_id = ANY(%s::int4[])
              ORDER BY company_id, partner_id = %s DESC, id
                """,
                array_literal([*src_partners.ids, dst_partner.id]),
                dst_partner.id,
            )
        )
        by_company = defaultdict(list)
        for row in cr.fetchall():
            by_company[row[2]].append(row)
        moves, repoint, override_from, plan_from = [], [], [], []
        for rows in by_company.values():
            # The destination's profile first, else the oldest source profile.
            keeper, *others = rows
            if keeper[1] != dst_partner.id:
                repoint.append(keeper[0])
            moves.extend((other[0], keeper[0]) for other in others)
            # The destination's override (and pinned plan) wins; without one,
            # a source's carries over (the newest source profile's).
            if not keeper[3]:
                override_from.extend(
                    (keeper[0], other[0]) for other in reversed(others) if other[3]
                )
            if not keeper[4]:
                plan_from.extend(
                    (keeper[0], other[0]) for other in reversed(others) if other[4]
                )
        if moves:
            sources = array_literal(src for src, __ in moves)
            keepers = array_literal(keeper for __, keeper in moves)
            for table, column in PROFILE_CHILDREN:
                cr.execute(
                    SQL(
                        """
                        UPDATE %(table)s AS t SET %(column)s = m.keeper
                          FROM unnest(%(sources)s::int4[], %(keepers)s::int4[])
                               AS m(source, keeper)
                         WHERE t.%(column)s = m.source
                        """,
                        table=SQL.identifier(table),
                        column=SQL.identifier(column),
                        sources=sources,
                        keepers=keepers,
                    )
                )
            self._customer_tiering_copy(override_from, OVERRIDE_FIELDS)
            self._customer_tiering_copy(plan_from, ("pinned_plan_id",))
            cr.execute(
                SQL(
                    "DELETE FROM customer_profile WHERE id = ANY(%s::int4[])",
                    sources,
                )
            )
        if repoint:
            cr.execute(
                SQL(
                    "UPDATE customer_profile SET partner_id = %s "
                    "WHERE id = ANY(%s::int4[])",
                    dst_partner.id,
                    array_literal(repoint),
                )
            )
        self._customer_tiering_merge_requests(src_partners, dst_partner)
        self.env.invalidate_all()

    @api.model
    def _customer_tiering_copy(self, pairs, names):
        """Copy the columns ``names`` from profile to profile (``pairs``:
        (target id, source id), one source per target: the first given)."""
        first = {}
        for target, source in pairs:
            first.setdefault(target, source)
        if not first:
            return
        self.env.cr.execute(
            SQL(
                """
                UPDATE customer_profile AS k SET %(assignments)s
                  FROM unnest(%(targets)s::int4[], %(sources)s::int4[])
                       AS m(target, source)
                  JOIN customer_profile s ON s.id = m.source
                 WHERE k.id = m.target
                """,
                assignments=SQL(", ").join(
                    SQL("%s = s.%s", SQL.identifier(name), SQL.identifier(name))
                    for name in names
                ),
                targets=array_literal(first),
                sources=array_literal(first.values()),
            )
        )

    @api.model
    def _customer_tiering_merge_requests(self, src_partners, dst_partner):
        """One open tier review request per customer and company: the
        destination's (else the oldest source's) stays; the others, which
        Odoo's merge would otherwise delete on the unique index, are
        cancelled with a note."""
        self.env.cr.execute(
            SQL(
                """
                SELECT id FROM (
                       SELECT id, row_number() OVER (
                                  PARTITION BY company_id
                                  ORDER BY partner_id = %(dst)s DESC, id) AS n
                         FROM customer_tier_request
                        WHERE partner_id = ANY(%(ids)s::int4[])
                          AND state = ANY(%(open)s::varchar[])
                       ) AS o
                 WHERE n > 1
                """,
                dst=dst_partner.id,
                ids=array_literal([*src_partners.ids, dst_partner.id]),
                open=array_literal(OPEN_STATES),
            )
        )
        ids = [row[0] for row in self.env.cr.fetchall()]
        if not ids:
            return
        # sudo: the merge cancels requests of any salesperson and company; the
        # workflow fields are closed to plain writes.
        requests = self.env["customer.tier.request"].sudo().browse(ids)
        requests.write({"state": "cancelled"})
        requests.activity_unlink(["customer_tiering.mail_activity_type_tier_request"])
        body = Markup("<p>%s</p>") % self.env._(
            "Cancelled: the customer was merged into %(customer)s, which already "
            "has an open tier review request.",
            customer=dst_partner.display_name,
        )
        for request in requests:
            request.message_post(body=body, subtype_xmlid="mail.mt_note")

    @api.model
    def _customer_tiering_refresh(self, dst_partner):
        """Re-evaluate the merged customer in every company it has a profile."""
        # sudo: the merge moved the customer's tiering records in every
        # company, whatever the user may read; re-evaluating them is system
        # work.
        Profile = self.env["customer.profile"].sudo()
        companies = Profile.search(
            [("partner_id", "=", dst_partner.commercial_partner_id.id)]
        ).company_id
        for company in companies:
            try:
                Profile.with_company(company)._refresh_partners(
                    dst_partner, companies=company
                )
            except UserError as error:
                # An unusable ladder: the customer is tiered once it is fixed.
                _logger.warning(
                    "customer_tiering: merged customer %s not re-evaluated in "
                    "company %s: %s",
                    dst_partner.id,
                    company.name,
                    error,
                )
