# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The printable account review: one or many customers per job.

Everything the document shows is gathered per company in a constant number of
queries (one SQL for the monthly revenue, one search per related model),
whatever the number of customers printed; the template only reads what is
prefetched here.
"""

from collections import defaultdict

from dateutil.relativedelta import relativedelta

from odoo import api, models
from odoo.exceptions import AccessError
from odoo.tools import SQL

from ..engine import tiering
from .sql_arrays import array_literal

MONTHS = 24
# The "own customers" rule of the tiering user (security's record rules use
# the same domain on the profile and the customer's records).
ALL_CUSTOMERS_GROUPS = (
    "sales_team.group_sale_salesman_all_leads",
    "customer_tiering.group_customer_tiering_manager",
)


def own_customers_domain(user):
    return [
        "|",
        "|",
        "|",
        ("user_id", "=", user.id),
        ("user_id", "=", False),
        ("message_partner_ids", "in", [user.partner_id.id]),
        ("user_id.sale_team_id.user_id", "=", user.id),
    ]


class ReportCustomerAccountReview(models.AbstractModel):
    _name = "report.customer_tiering.report_account_review"
    _description = "Account Review Report"

    @api.model
    def _get_report_values(self, docids, data=None):
        partners = self.env["res.partner"].browse(docids).commercial_partner_id
        return self._review_values(partners, self.env.company)

    @api.model
    def _check_review_access(self, partners):
        """Record rules: a salesperson prints the customers they may see."""
        partners.check_access("read")
        user = self.env.user
        if self.env.su or any(user.has_group(g) for g in ALL_CUSTOMERS_GROUPS):
            return
        allowed = partners.search(
            [("id", "in", partners.ids), *own_customers_domain(user)]
        )
        if allowed != partners:
            raise AccessError(
                self.env._(
                    "You cannot print the account review of %(customers)s: they "
                    "are other salespeople's customers.",
                    customers=", ".join((partners - allowed).mapped("display_name")),
                )
            )

    @api.model
    def _review_values(self, partners, company):
        self._check_review_access(partners)
        today = company._customer_tiering_today()
        Profile = self.env["customer.profile"].with_company(company)
        profiles = Profile.search(
            [("partner_id", "in", partners.ids), ("company_id", "=", company.id)]
        )
        profiles.check_access("read")
        profile_of = {p.partner_id.id: p for p in profiles}
        ids = partners.ids
        since = today - relativedelta(months=12)
        touches = self.env["customer.touch"].search(
            [("profile_id", "in", profiles.ids), ("date", ">=", since)]
        )
        activities = self.env["mail.activity"].search(
            [("res_model", "=", "res.partner"), ("res_id", "in", ids)],
            order="date_deadline, id",
        )
        reviews = self.env["customer.account.review"].search(
            [("partner_id", "in", ids), ("company_id", "=", company.id)]
        )
        contacts = self.env["res.partner"].search(
            [("parent_id", "in", ids), ("is_company", "=", False)],
            order="parent_id, name",
        )
        history = self.env["customer.tier.history"].search(
            [("partner_id", "in", ids), ("company_id", "=", company.id)]
        )
        snapshots = self.env["customer.health.snapshot"]._read_group(
            [
                ("partner_id", "in", ids),
                ("company_id", "=", company.id),
                ("date", ">=", since),
            ],
            ["partner_id", "date:month"],
            ["score:avg"],
        )
        ladder = self.env["customer.tier"].with_company(company)._get_ladder(company)
        months = [
            (today.replace(day=1) - relativedelta(months=n)) for n in range(MONTHS)
        ][::-1]
        revenue = self._monthly_revenue(partners, company, months[0], today)
        # Prefetch what the template reads of every record at once.
        for records in (profiles, touches, activities, reviews, contacts, history):
            records.fetch(
                [
                    name
                    for name, field in records._fields.items()
                    if field.store and field.column_type and not field.groups
                ]
            )
        by_partner = defaultdict(lambda: defaultdict(list))
        for touch in touches:
            by_partner[touch.partner_id.id]["touches"].append(touch.id)
        for activity in activities:
            by_partner[activity.res_id]["activities"].append(activity.id)
        for review in reviews:
            by_partner[review.partner_id.id]["reviews"].append(review.id)
        for contact in contacts:
            by_partner[contact.parent_id.id]["contacts"].append(contact.id)
        for entry in history:
            by_partner[entry.partner_id.id]["history"].append(entry.id)
        health_months = defaultdict(list)
        for partner, month, score in snapshots:
            health_months[partner.id].append((month, score))

        def records(recordset, key, rows, limit=None):
            # A recordset (the template re-reads it in the customer's
            # language) that prefetches with all the others.
            return recordset.browse(rows[key][:limit]).with_prefetch(
                recordset._prefetch_ids
            )

        internal = self.env.user._is_internal() and not self.env.context.get(
            "customer_account_review_external"
        )
        reviews_of = {}
        for partner in partners:
            profile = profile_of.get(partner.id, Profile)
            rows = by_partner[partner.id]
            monthly = [revenue.get((partner.id, month), 0.0) for month in months]
            reviews_of[partner.id] = {
                "profile": profile,
                "criteria": self._criteria(profile, ladder),
                "months": list(zip(months, monthly, strict=True)),
                "revenue_24": sum(monthly),
                "touches": records(touches, "touches", rows),
                "activities": records(activities, "activities", rows),
                "reviews": records(reviews, "reviews", rows, 5),
                "contacts": records(contacts, "contacts", rows),
                "history": records(history, "history", rows, 5),
                "health_months": health_months[partner.id],
            }
        return {
            "doc_ids": partners.ids,
            "doc_model": "res.partner",
            "docs": partners,
            "company": company,
            "reviews_of": reviews_of,
            "show_internal": internal,
            "today": today,
            "currency": company.currency_id,
        }

    @api.model
    def _monthly_revenue(self, partners, company, start, today):
        """``{(partner_id, first day of month): revenue}`` over the months from
        ``start`` to ``today``, on the company's revenue basis (what the
        tiering figures count), in one GROUP BY for all ``partners``."""
        Profile = self.env["customer.profile"]
        src = Profile._metrics_source(
            company, {"start": start, "end": today + relativedelta(days=1)}
        )
        local_day = src.get("local_day", src["day"])
        self.env.flush_all()
        self.env.cr.execute(
            SQL(
                """
                SELECT %(partner)s, date_trunc('month', %(local_day)s)::date,
                       SUM(%(amount)s)
                  FROM %(rows)s
                   AND %(partner)s = ANY(%(ids)s::int4[])
                   AND %(day)s >= %(start)s AND %(day)s < %(end)s
                   AND NOT %(excluded)s
              GROUP BY 1, 2
                """,
                partner=src["partner"],
                local_day=local_day,
                excluded=src["excluded"],
                amount=src["amount"],
                rows=src["rows"],
                ids=array_literal(partners.ids),
                day=src["day"],
                start=src["bounds"]["start"],
                end=src["bounds"]["end"],
            )
        )
        return {
            (partner_id, month): float(amount or 0.0)
            for partner_id, month, amount in self.env.cr.fetchall()
        }

    @api.model
    def _criteria(self, profile, ladder):
        """The customer's figures against the thresholds of its tier and of
        the tier above: ``[(key, value, kind, [(tier, threshold, met)])]``
        (threshold None: the tier has no such criterion)."""
        tier = profile.tier_id
        tiers = ladder.sorted("rank")
        above = tiers.filtered(lambda t: t.rank > (tier.rank if tier else -1))[:1]
        shown = (tier | above).sorted("rank", reverse=True)
        metrics = tiering.Metrics(
            revenue=profile.revenue,
            revenue_prev=profile.revenue_prev,
            orders=profile.order_count,
            lifetime=profile.lifetime_revenue,
            strategic=profile.strategic,
        )
        rows = [
            (profile.revenue, "money", "revenue"),
            # None without revenue the window before (no figure, not 0 %)
            (metrics.growth, "pct", "growth"),
            (profile.order_count, "int", "orders"),
            (profile.lifetime_revenue, "money", "lifetime"),
        ]
        result = []
        for value, kind, key in rows:
            cells = []
            for t in shown:
                enabled, threshold = {
                    "revenue": (t.use_min_revenue, t.min_revenue),
                    "growth": (t.use_min_growth, t.min_growth),
                    "orders": (t.use_min_orders, t.min_orders),
                    "lifetime": (t.use_min_lifetime, t.min_lifetime),
                }[key]
                # Met as the engine decides (revenue from nothing counts as
                # unbounded growth).
                cells.append(
                    (t, threshold, tiering.criterion_holds(key, threshold, metrics))
                    if enabled
                    else (t, None, None)
                )
            result.append((key, value, kind, cells))
        strategic_cells = [
            (t, True, profile.strategic) if t.require_strategic else (t, None, None)
            for t in shown
        ]
        result.append(("strategic", profile.strategic, "bool", strategic_cells))
        return {"tiers": shown, "rows": result}


class ReportCustomerAccountReviewProfile(models.AbstractModel):
    """The same review, printed from Key Accounts (customer profiles)."""

    _name = "report.customer_tiering.report_account_review_profile"
    _description = "Account Review Report (Key Accounts)"

    @api.model
    def _get_report_values(self, docids, data=None):
        profiles = self.env["customer.profile"].browse(docids)
        profiles.check_access("read")
        Report = self.env["report.customer_tiering.report_account_review"]
        values = None
        for company, group in profiles.grouped("company_id").items():
            part = Report.with_company(company)._review_values(
                group.partner_id, company
            )
            if values is None:
                values = part
            else:
                values["docs"] |= part["docs"]
                values["doc_ids"] += part["doc_ids"]
                values["reviews_of"].update(part["reviews_of"])
        return values or Report._review_values(
            self.env["res.partner"], self.env.company
        )
