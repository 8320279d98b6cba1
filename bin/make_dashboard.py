#!/usr/bin/env python3
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Write customer_tiering/data/files/key_accounts_dashboard.json (and the
managers' health_backtest_dashboard.json, see ``backtest_snapshot``).

The "Key Accounts" spreadsheet dashboard, in the format Odoo 18's
spreadsheet_dashboard_sale ships (o-spreadsheet data version 21): live
pivots, lists and charts over the addon's models, formulas on them, no
static number.  Texts are ``_t("...")`` formulas, chart titles and filter
labels, which Odoo's translation export extracts from ``*_dashboard.json``
files (the zh_CN catalogue translates them).

Run it after changing the layout: ``python3 bin/make_dashboard.py``.
``--sample CONF DB`` also writes key_accounts_sample_dashboard.json, shown
while a database has no profile yet (as Sales ships a sample): the same
sheet with the values DB (the demo data) gives, as static numbers.
"""

import json
import re
import sys
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "customer_tiering/data/files"

# Global filters (ids are fixed: the field matchings refer to them).
F_PERIOD = "0d8e3c5a-5f7c-4d3b-9f55-1c1d6f3e7a01"
F_TIER = "0d8e3c5a-5f7c-4d3b-9f55-1c1d6f3e7a02"
F_USER = "0d8e3c5a-5f7c-4d3b-9f55-1c1d6f3e7a03"

GLOBAL_FILTERS = [
    {
        "id": F_PERIOD,
        "type": "date",
        "label": "Period",
        "defaultValue": "last_three_months",
        "rangeType": "relative",
    },
    {
        "id": F_TIER,
        "type": "relation",
        "label": "Tier",
        "modelName": "customer.tier",
        "defaultValue": [],
        "defaultValueDisplayNames": [],
        "rangeType": "year",
    },
    {
        "id": F_USER,
        "type": "relation",
        "label": "Salesperson",
        "modelName": "res.users",
        "defaultValue": [],
        "defaultValueDisplayNames": [],
        "rangeType": "year",
    },
]

# Which field each filter applies to, per model (the period does not apply
# to the profiles: they are today's state).
MATCHING = {
    "customer.tier.review.report": {
        F_TIER: {"chain": "tier_id", "type": "many2one"},
        F_USER: {"chain": "user_id", "type": "many2one"},
    },
    "customer.profile": {
        F_TIER: {"chain": "tier_id", "type": "many2one"},
        F_USER: {"chain": "user_id", "type": "many2one"},
    },
    "customer.plan.compliance.report": {
        F_PERIOD: {"chain": "deadline", "type": "date", "offset": 0},
        F_TIER: {"chain": "tier_id", "type": "many2one"},
        F_USER: {"chain": "user_id", "type": "many2one"},
    },
    "customer.tier.history": {
        F_PERIOD: {"chain": "date", "type": "datetime", "offset": 0},
        F_TIER: {"chain": "to_tier_id", "type": "many2one"},
        F_USER: {"chain": "partner_id.user_id", "type": "many2one"},
    },
}

WARNED_THIS_WEEK = (
    "[('health_warned_on', '>=', "
    "(context_today() - relativedelta(days=7)).strftime('%Y-%m-%d'))]"
)


def measure(field, aggregator):
    return {"id": f"{field}:{aggregator}", "fieldName": field, "aggregator": aggregator}


COUNT = measure("__count", "sum")


def pivot(pid, name, model, rows=(), cols=(), measures=(), domain=(), sort=None):
    return {
        "type": "ODOO",
        "id": pid,
        "formulaId": pid,
        "name": name,
        "model": model,
        "domain": domain if isinstance(domain, str) else list(domain),
        "context": {},
        "measures": list(measures),
        "rows": [{"fieldName": f} for f in rows],
        "columns": [{"fieldName": f} for f in cols],
        "sortedColumn": sort
        and {"groupId": [[], []], "measure": sort, "order": "desc"},
        "fieldMatching": MATCHING[model],
    }


PIVOTS = {
    # Tier mix and health: today's profiles.
    "1": pivot(
        "1",
        "Key Accounts by Tier",
        "customer.profile",
        rows=["tier_id"],
        measures=[
            COUNT,
            measure("revenue", "sum"),
            measure("health_score", "avg"),
        ],
    ),
    "2": pivot(
        "2",
        "Key Accounts by Tier and Health",
        "customer.profile",
        rows=["tier_id"],
        cols=["health_band"],
        measures=[COUNT, measure("health_score", "avg")],
    ),
    # Plan execution over the period (deadlines).
    "3": pivot(
        "3",
        "Plan Compliance by Tier",
        "customer.plan.compliance.report",
        rows=["tier_id"],
        cols=["status"],
        measures=[measure("touch_count", "sum"), measure("on_time_rate", "avg")],
    ),
    "4": pivot(
        "4",
        "Plan Compliance by Salesperson",
        "customer.plan.compliance.report",
        rows=["user_id"],
        cols=["status"],
        measures=[measure("touch_count", "sum"), measure("on_time_rate", "avg")],
        sort="touch_count:sum",
    ),
    # Movement over the period.
    "5": pivot(
        "5",
        "Tier Changes (from / to)",
        "customer.tier.history",
        rows=["from_tier_id"],
        cols=["to_tier_id"],
        measures=[COUNT],
    ),
    "6": pivot(
        "6",
        "Tier Changes by Cause",
        "customer.tier.history",
        rows=["cause"],
        cols=["direction"],
        measures=[COUNT],
    ),
    # Scorecards.
    "7": pivot(
        "7",
        "Pending Downgrades",
        "customer.profile",
        measures=[COUNT],
        domain=[["pending_downgrade_since", "!=", False]],
    ),
    # Review figures (retention, repurchase, churn, growth) per tier.
    "9": pivot(
        "9",
        "Review Figures by Tier",
        "customer.tier.review.report",
        rows=["tier_id"],
        measures=[
            measure("retention_rate", "avg"),
            measure("repurchase_rate", "avg"),
            measure("churned_count", "sum"),
            measure("active_prev_count", "sum"),
            measure("revenue", "sum"),
            measure("revenue_prev", "sum"),
        ],
    ),
    "8": pivot(
        "8",
        "Health Warnings (7 days)",
        "customer.profile",
        measures=[COUNT],
        domain=WARNED_THIS_WEEK,
    ),
}

LISTS = {
    "1": {
        "id": "1",
        "name": "Top Customers by Revenue",
        "model": "customer.profile",
        "columns": ["partner_id", "tier_id", "user_id", "revenue"],
        "domain": [],
        "context": {},
        "orderBy": [{"name": "revenue", "asc": False}],
        "fieldMatching": MATCHING["customer.profile"],
    },
    "2": {
        "id": "2",
        "name": "At-Risk Customers",
        "model": "customer.profile",
        "columns": ["partner_id", "user_id", "tier_id", "health_score"],
        "domain": [["health_band", "=", "at_risk"]],
        "context": {},
        "orderBy": [{"name": "health_score", "asc": True}],
        "fieldMatching": MATCHING["customer.profile"],
    },
}

# --------------------------------------------------------------------------
# Layout helpers
# --------------------------------------------------------------------------
COL_SIZES = [210, 110, 140, 150, 210, 110, 140, 150]
DEFAULT_ROW = 23
ROW_SIZES = {}  # 0-based row index -> height


def col_x(col):
    return sum(COL_SIZES[:col])


def row_y(row):
    """Top of 1-based ``row``, in pixels."""
    return sum(ROW_SIZES.get(i, DEFAULT_ROW) for i in range(row - 1))


def t(text):
    return f'=_t("{text}")'


def link(text, view_type, model, domain=(), context=None, name=None, views=None):
    action = {
        "viewType": view_type,
        "action": {
            "domain": list(domain),
            "context": context or {"group_by": []},
            "modelName": model,
            "views": views or [[False, view_type], [False, "form"], [False, "search"]],
        },
        "threshold": 0,
        "name": name or text,
    }
    return f"[{text}](odoo://view/{json.dumps(action, separators=(',', ':'))})"


STYLES = {
    "1": {"textColor": "#01666b", "bold": True, "fontSize": 16},  # section title
    "2": {"bold": True, "fontSize": 11, "textColor": "#434343"},  # column header
    "3": {"bold": True, "fontSize": 11, "textColor": "#434343", "align": "right"},
    "4": {"textColor": "#434343", "verticalAlign": "middle"},  # body
    "5": {"bold": True, "textColor": "#434343", "fillColor": "#f2f2f2"},  # total
}
FORMATS = {"1": "0.0%", "2": "#,##0", "3": "0.0"}
BORDERS = {"1": {"bottom": {"style": "thin", "color": "#CCCCCC"}}}


class Sheet:
    def __init__(self, sheet_id, name):
        self.id, self.name = sheet_id, name
        self.cells, self.styles, self.formats, self.borders = {}, {}, {}, {}
        self.figures = []

    def set(self, ref, content, style=None, fmt=None, border=None):
        self.cells[ref] = {"content": content}
        if style:
            self.styles[ref] = int(style)
        if fmt:
            self.formats[ref] = int(fmt)
        if border:
            self.borders[ref] = int(border)

    def section(self, row, col_letters, title_cell):
        first, last = col_letters
        self.set(f"{first}{row}", title_cell, style=1)
        for letter in "ABCDEFGH"["ABCDEFGH".index(first) : "ABCDEFGH".index(last) + 1]:
            self.borders[f"{letter}{row}"] = 1
        ROW_SIZES[row - 1] = 40

    def dump(self, col_sizes=None, rows=None, visible=True):
        return {
            "id": self.id,
            "name": self.name,
            "colNumber": 12,
            "rowNumber": 120,
            "rows": {str(i): {"size": s} for i, s in sorted((rows or {}).items())},
            "cols": {str(i): {"size": s} for i, s in enumerate(col_sizes or [])},
            "merges": [],
            "cells": self.cells,
            "styles": self.styles,
            "formats": self.formats,
            "borders": self.borders,
            "conditionalFormats": [],
            "figures": self.figures,
            "tables": [],
            "areGridLinesVisible": False,
            "isVisible": visible,
            "headerGroups": {"ROW": [], "COL": []},
            "dataValidationRules": [],
            "comments": {},
        }


def chart(fid, model, group_by, measure_name, chart_type, x, y, w, h, title, **extra):
    domain = extra.pop("domain", [])
    data = {
        "title": {"text": title},
        "background": "#FFFFFF",
        "legendPosition": extra.pop("legend", "top"),
        "metaData": {
            "groupBy": group_by,
            "measure": measure_name,
            "order": None,
            "resModel": model,
            "mode": chart_type.removeprefix("odoo_"),
        },
        "searchParams": {
            "comparison": None,
            "context": {"group_by": []},
            "domain": domain,
            "groupBy": group_by,
            "orderBy": [],
        },
        "type": chart_type,
        "verticalAxisPosition": "left",
        "fieldMatching": MATCHING[model],
        **extra,
    }
    return {
        "id": fid,
        "x": x,
        "y": y,
        "width": w,
        "height": h,
        "tag": "chart",
        "data": data,
    }


def scorecard(fid, x, title, key, background):
    return {
        "id": fid,
        "x": x,
        "y": 11,
        "width": 165,
        "height": 101,
        "tag": "chart",
        "data": {
            "title": {"text": title, "bold": True, "color": "#434343"},
            "type": "scorecard",
            "background": background,
            "keyValue": key,
            "baselineMode": "difference",
            "baselineColorDown": "#DC6965",
            "baselineColorUp": "#00A04A",
            "humanize": key != "Data!F3",
        },
    }


PROFILE_VIEWS = [[False, "list"], [False, "pivot"], [False, "form"], [False, "search"]]
HISTORY_VIEWS = [[False, "pivot"], [False, "list"], [False, "search"]]
COMPLIANCE_VIEWS = [[False, "pivot"], [False, "list"], [False, "search"]]
TIER_ROWS = 6
USER_ROWS = TIER_ROWS
LIST_ROWS = 10


def build():
    dash = Sheet("key_accounts_dashboard", "Dashboard")
    data = Sheet("key_accounts_data", "Data")

    # ---- Data sheet: the scorecards' values and the top-20 customers.
    data.set("A1", t("Top 20 customers"), style=2)
    data.set("B1", t("Revenue"), style=2)
    for i in range(1, 21):
        data.set(f"A{i + 1}", f'=ODOO.LIST(1,{i},"partner_id")')
        data.set(f"B{i + 1}", f'=ODOO.LIST(1,{i},"revenue")')
    kpis = [
        ("Customers", '=PIVOT.VALUE(1,"__count:sum")', 2),
        ("Revenue", '=PIVOT.VALUE(1,"revenue:sum")', None),
        ("Average health score", '=PIVOT.VALUE(1,"health_score:avg")', 3),
        (
            "At-risk customers",
            '=PIVOT.VALUE(2,"__count:sum","health_band","at_risk")',
            2,
        ),
        ("Pending downgrades", '=PIVOT.VALUE(7,"__count:sum")', 2),
        (
            "Overdue follow-ups",
            '=PIVOT.VALUE(4,"touch_count:sum","status","open")',
            2,
        ),
        ("Health warnings, last 7 days", '=PIVOT.VALUE(8,"__count:sum")', 2),
        (
            "Top 20 customers' share of revenue",
            '=IFERROR(SUM(B2:B21)/PIVOT.VALUE(1,"revenue:sum"))',
            1,
        ),
    ]
    data.set("D1", t("KPI"), style=2)
    data.set("E1", t("Value"), style=2)
    for i, (label, formula, fmt) in enumerate(kpis, start=2):
        data.set(f"D{i}", t(label))
        data.set(f"E{i}", formula, fmt=fmt)
    # The revenue card: 18m rather than 17,998k (which a card cuts off).
    data.set(
        "F3",
        '=IF(E3>=1000000,FORMAT.LARGE.NUMBER(E3,"m"),'
        'IF(E3>=10000,FORMAT.LARGE.NUMBER(E3,"k"),E3))',
    )

    # ---- Scorecards.
    cards = [
        ("Customers", "Data!E2", "#EFF6FF"),
        ("Revenue", "Data!F3", "#EFF6FF"),
        ("Avg. Health", "Data!E4", "#F0FDF4"),
        ("At Risk", "Data!E5", "#FEF2F2"),
        ("Downgrades Due", "Data!E6", "#FFF7ED"),
        ("Late Follow-ups", "Data!E7", "#FFF7ED"),
        ("Warnings (7 Days)", "Data!E8", "#FEF2F2"),
    ]
    for i, (title, key, background) in enumerate(cards):
        dash.figures.append(
            scorecard(
                f"kpi-{i + 1}-0d8e3c5a-5f7c-4d3b-9f55", i * 175, title, key, background
            )
        )

    # ---- Tier mix.
    row = 6
    dash.section(
        row,
        "AD",
        link(
            "Tier mix",
            "pivot",
            "customer.profile",
            context={
                "group_by": ["tier_id"],
                "pivot_measures": ["__count", "revenue", "health_score"],
                "pivot_row_groupby": ["tier_id"],
                "pivot_column_groupby": [],
            },
            name="Key Accounts",
            views=PROFILE_VIEWS,
        ),
    )
    dash.section(row, "EH", t("Revenue per tier"))
    row += 1
    for ref, text, style in (
        ("A", "Tier", 2),
        ("B", "Customers", 3),
        ("C", "Revenue", 3),
        ("D", "Share of revenue", 3),
    ):
        dash.set(f"{ref}{row}", t(text), style=style, border=1)
    first = row + 1
    SAMPLE_RANGES["tier_revenue"] = (
        f"A{first}:A{row + TIER_ROWS}",
        [f"C{row}:C{row + TIER_ROWS}"],
    )
    for i in range(1, TIER_ROWS + 1):
        r = row + i
        dash.set(f"A{r}", f'=PIVOT.HEADER(1,"#tier_id",{i})', style=4)
        dash.set(f"B{r}", f'=PIVOT.VALUE(1,"__count:sum","#tier_id",{i})', fmt=2)
        dash.set(f"C{r}", f'=PIVOT.VALUE(1,"revenue:sum","#tier_id",{i})')
        dash.set(f"D{r}", f'=IF(A{r}="","",IFERROR(C{r}/C{first + TIER_ROWS}))', fmt=1)
    total = first + TIER_ROWS
    dash.set(f"A{total}", t("Total"), style=5)
    dash.set(f"B{total}", '=PIVOT.VALUE(1,"__count:sum")', style=5, fmt=2)
    dash.set(f"C{total}", '=PIVOT.VALUE(1,"revenue:sum")', style=5)
    dash.set(f"D{total}", f"=IFERROR(C{total}/C{total})", style=5, fmt=1)
    conc = total + 2
    dash.set(f"A{conc}", t("Concentration"), style=2, border=1)
    dash.set(f"A{conc + 1}", t("Top 20 customers' share of revenue"), style=4)
    dash.set(f"D{conc + 1}", "=Data!E9", fmt=1)
    dash.set(f"A{conc + 2}", t("Two top tiers' share of revenue"), style=4)
    dash.set(
        f"C{conc + 2}",
        '=PIVOT.HEADER(1,"#tier_id",1)&" + "&PIVOT.HEADER(1,"#tier_id",2)',
        style=4,
    )
    dash.set(f"D{conc + 2}", f"=IFERROR((C{first}+C{first + 1})/C{total})", fmt=1)
    tier_mix_row = row
    tier_mix_end = conc + 2

    # ---- Review figures: retention, repurchase, churn, growth per tier.
    row = tier_mix_end + 2
    review_context = {
        "group_by": ["tier_id"],
        "pivot_measures": ["retention_rate", "repurchase_rate", "churned_count"],
        "pivot_row_groupby": ["tier_id"],
        "pivot_column_groupby": [],
    }
    dash.section(
        row,
        "AD",
        link(
            "Retention and repurchase (12 months)",
            "pivot",
            "customer.tier.review.report",
            context=review_context,
            name="Review Figures",
            views=[[False, "pivot"], [False, "list"], [False, "search"]],
        ),
    )
    dash.section(row, "EH", t("Revenue growth (12 months)"))
    row += 1
    for ref, text, style in (
        ("A", "Tier", 2),
        ("B", "Retention", 3),
        ("C", "Repurchase rate", 3),
        ("D", "Churned customers", 3),
        ("E", "Tier", 2),
        ("F", "Revenue", 3),
        ("G", "12 months before", 3),
        ("H", "Growth", 3),
    ):
        dash.set(f"{ref}{row}", t(text), style=style, border=1)
    for i in range(1, TIER_ROWS + 2):
        r = row + i
        if i > TIER_ROWS:  # the total line
            dash.set(f"A{r}", t("Total"), style=5)
            dash.set(f"E{r}", t("Total"), style=5)
            position, style = "", 5
        else:
            dash.set(f"A{r}", f'=PIVOT.HEADER(9,"#tier_id",{i})', style=4)
            dash.set(f"E{r}", f'=IF(A{r}="","",A{r})', style=4)
            position, style = f',"#tier_id",{i}', None
        # The rates are 0..100 in the report: shown as percentages.
        for letter, name in (("B", "retention_rate:avg"), ("C", "repurchase_rate:avg")):
            dash.set(
                f"{letter}{r}",
                f'=IF(A{r}="","",IFERROR(PIVOT.VALUE(9,"{name}"{position})/100,""))',
                style=style,
                fmt=1,
            )
        dash.set(
            f"D{r}",
            f'=IF(A{r}="","",PIVOT.VALUE(9,"churned_count:sum"{position}))',
            style=style,
            fmt=2,
        )
        dash.set(
            f"F{r}",
            f'=IF(A{r}="","",PIVOT.VALUE(9,"revenue:sum"{position}))',
            style=style,
        )
        dash.set(
            f"G{r}",
            f'=IF(A{r}="","",PIVOT.VALUE(9,"revenue_prev:sum"{position}))',
            style=style,
        )
        dash.set(
            f"H{r}",
            f'=IF(A{r}="","",IFERROR(F{r}/G{r}-1,""))',
            style=style,
            fmt=1,
        )
    review_end = row + TIER_ROWS + 1

    # ---- Health.
    row = review_end + 2
    dash.section(
        row,
        "AD",
        link(
            "Health",
            "pivot",
            "customer.profile",
            context={
                "group_by": ["tier_id"],
                "pivot_measures": ["__count", "health_score"],
                "pivot_row_groupby": ["tier_id"],
                "pivot_column_groupby": ["health_band"],
            },
            name="Key Accounts",
            views=PROFILE_VIEWS,
        ),
    )
    dash.section(row, "EH", t("Customers per health band"))
    health_row = row
    row += 1
    for ref, text, style in (
        ("A", "Tier", 2),
        ("B", "Average score", 3),
        ("C", "Watch", 3),
        ("D", "At risk", 3),
    ):
        dash.set(f"{ref}{row}", t(text), style=style, border=1)
    SAMPLE_RANGES["health_bands"] = (
        f"A{row + 1}:A{row + TIER_ROWS}",
        [f"C{row}:C{row + TIER_ROWS}", f"D{row}:D{row + TIER_ROWS}"],
    )
    for i in range(1, TIER_ROWS + 1):
        r = row + i
        dash.set(f"A{r}", f'=PIVOT.HEADER(2,"#tier_id",{i})', style=4)
        dash.set(f"B{r}", f'=PIVOT.VALUE(2,"health_score:avg","#tier_id",{i})', fmt=3)
        for letter, band in (("C", "watch"), ("D", "at_risk")):
            dash.set(
                f"{letter}{r}",
                f'=PIVOT.VALUE(2,"__count:sum","#tier_id",{i},"health_band","{band}")',
                fmt=2,
            )
    total = row + TIER_ROWS + 1
    dash.set(f"A{total}", t("Total"), style=5)
    dash.set(f"B{total}", '=PIVOT.VALUE(2,"health_score:avg")', style=5, fmt=3)
    for letter, band in (("C", "watch"), ("D", "at_risk")):
        dash.set(
            f"{letter}{total}",
            f'=PIVOT.VALUE(2,"__count:sum","health_band","{band}")',
            style=5,
            fmt=2,
        )
    health_end = total

    # ---- At-risk customers and top customers (lists).
    row = health_end + 2
    dash.section(
        row,
        "AD",
        link(
            "At-risk customers",
            "list",
            "customer.profile",
            domain=[["health_band", "=", "at_risk"]],
            name="Key Accounts",
            views=PROFILE_VIEWS,
        ),
    )
    dash.section(
        row,
        "EH",
        link(
            "Top customers",
            "list",
            "customer.profile",
            name="Key Accounts",
            views=PROFILE_VIEWS,
        ),
    )
    lists_row = row
    row += 1
    for ref, text, style in (
        ("A", "Customer", 2),
        ("B", "Salesperson", 2),
        ("C", "Tier", 2),
        ("D", "Health score", 3),
        ("E", "Customer", 2),
        ("F", "Tier", 2),
        ("G", "Salesperson", 2),
        ("H", "Revenue", 3),
    ):
        dash.set(f"{ref}{row}", t(text), style=style, border=1)
    for i in range(1, LIST_ROWS + 1):
        r = row + i
        dash.set(f"A{r}", f'=ODOO.LIST(2,{i},"partner_id")', style=4)
        dash.set(f"B{r}", f'=ODOO.LIST(2,{i},"user_id")', style=4)
        dash.set(f"C{r}", f'=ODOO.LIST(2,{i},"tier_id")', style=4)
        dash.set(f"D{r}", f'=ODOO.LIST(2,{i},"health_score")', fmt=3)
        dash.set(f"E{r}", f'=ODOO.LIST(1,{i},"partner_id")', style=4)
        dash.set(f"F{r}", f'=ODOO.LIST(1,{i},"tier_id")', style=4)
        dash.set(f"G{r}", f'=ODOO.LIST(1,{i},"user_id")', style=4)
        dash.set(f"H{r}", f'=ODOO.LIST(1,{i},"revenue")')
    lists_end = row + LIST_ROWS

    # ---- Plan execution.
    row = lists_end + 2
    compliance_link = {
        "group_by": ["tier_id"],
        "pivot_measures": ["on_time_rate", "touch_count"],
        "pivot_row_groupby": ["tier_id"],
        "pivot_column_groupby": ["status"],
    }
    dash.section(
        row,
        "AD",
        link(
            "Plan compliance per tier",
            "pivot",
            "customer.plan.compliance.report",
            context=compliance_link,
            name="Plan Compliance",
            views=COMPLIANCE_VIEWS,
        ),
    )
    dash.section(
        row,
        "EH",
        link(
            "Plan compliance per salesperson",
            "pivot",
            "customer.plan.compliance.report",
            context={
                **compliance_link,
                "group_by": ["user_id"],
                "pivot_row_groupby": ["user_id"],
            },
            name="Plan Compliance",
            views=COMPLIANCE_VIEWS,
        ),
    )
    row += 1
    for ref, text, style in (
        ("A", "Tier", 2),
        ("B", "Touches due", 3),
        ("C", "Compliance", 3),
        ("D", "Overdue follow-ups", 3),
        ("E", "Salesperson", 2),
        ("F", "Touches due", 3),
        ("G", "Compliance", 3),
        ("H", "Overdue follow-ups", 3),
    ):
        dash.set(f"{ref}{row}", t(text), style=style, border=1)
    for pid, (head, due, rate, overdue), field, count in (
        ("3", "ABCD", "tier_id", TIER_ROWS),
        ("4", "EFGH", "user_id", USER_ROWS),
    ):
        for i in range(1, count + 1):
            r = row + i
            dash.set(f"{head}{r}", f'=PIVOT.HEADER({pid},"#{field}",{i})', style=4)
            dash.set(
                f"{due}{r}",
                f'=PIVOT.VALUE({pid},"touch_count:sum","#{field}",{i})',
                fmt=2,
            )
            # The report's rate is 0..100: shown as a percentage.
            dash.set(
                f"{rate}{r}",
                f'=IF({head}{r}="","",PIVOT.VALUE({pid},"on_time_rate:avg",'
                f'"#{field}",{i})/100)',
                fmt=1,
            )
            dash.set(
                f"{overdue}{r}",
                f'=PIVOT.VALUE({pid},"touch_count:sum","#{field}",{i},"status","open")',
                fmt=2,
            )
        r = row + count + 1
        dash.set(f"{head}{r}", t("Total"), style=5)
        dash.set(f"{due}{r}", f'=PIVOT.VALUE({pid},"touch_count:sum")', style=5, fmt=2)
        dash.set(
            f"{rate}{r}",
            f'=IFERROR(PIVOT.VALUE({pid},"on_time_rate:avg")/100,"")',
            style=5,
            fmt=1,
        )
        dash.set(
            f"{overdue}{r}",
            f'=PIVOT.VALUE({pid},"touch_count:sum","status","open")',
            style=5,
            fmt=2,
        )
    plan_end = row + max(TIER_ROWS, USER_ROWS) + 1

    # ---- Movement.
    row = plan_end + 2
    history_context = {
        "group_by": ["from_tier_id"],
        "pivot_measures": ["__count"],
        "pivot_row_groupby": ["from_tier_id"],
        "pivot_column_groupby": ["to_tier_id"],
    }
    dash.section(
        row,
        "AH",
        link(
            "Tier changes over the period (from / to)",
            "pivot",
            "customer.tier.history",
            context=history_context,
            name="Tier Changes",
            views=HISTORY_VIEWS,
        ),
    )
    row += 1
    # The from/to matrix: from tiers down, to tiers across (by position:
    # the ladder is configurable), totals last.
    dash.set(f"A{row}", t("From / To"), style=2, border=1)
    to_cols = "BCDEFG"
    for j, letter in enumerate(to_cols, start=1):
        dash.set(
            f"{letter}{row}",
            f'=PIVOT.HEADER(5,"#to_tier_id",{j})',
            style=3,
            border=1,
        )
    dash.set(f"H{row}", t("Total"), style=3, border=1)
    for i in range(1, TIER_ROWS + 2):
        r = row + i
        dash.set(f"A{r}", f'=PIVOT.HEADER(5,"#from_tier_id",{i})', style=4)
        for j, letter in enumerate(to_cols, start=1):
            dash.set(
                f"{letter}{r}",
                f'=PIVOT.VALUE(5,"__count:sum","#from_tier_id",{i},"#to_tier_id",{j})',
                fmt=2,
            )
        dash.set(f"H{r}", f'=PIVOT.VALUE(5,"__count:sum","#from_tier_id",{i})', fmt=2)
    r = row + TIER_ROWS + 2
    dash.set(f"A{r}", t("Total"), style=5)
    for j, letter in enumerate(to_cols, start=1):
        dash.set(
            f"{letter}{r}",
            f'=PIVOT.VALUE(5,"__count:sum","#to_tier_id",{j})',
            style=5,
            fmt=2,
        )
    dash.set(f"H{r}", '=PIVOT.VALUE(5,"__count:sum")', style=5, fmt=2)
    matrix_row = row
    row = r + 2
    dash.section(
        row,
        "AD",
        link(
            "Tier changes by cause",
            "pivot",
            "customer.tier.history",
            context={
                "group_by": ["cause"],
                "pivot_measures": ["__count"],
                "pivot_row_groupby": ["cause"],
                "pivot_column_groupby": ["direction"],
            },
            name="Tier Changes",
            views=HISTORY_VIEWS,
        ),
    )
    dash.section(row, "EH", t("Tier changes per month"))
    cause_row = row
    row += 1
    directions = (("B", "up", "Up"), ("C", "down", "Down"), ("D", "same", "Same"))
    dash.set(f"A{row}", t("Cause"), style=2, border=1)
    for letter, __, label in directions:
        dash.set(f"{letter}{row}", t(label), style=3, border=1)
    causes = 7
    SAMPLE_RANGES["tier_changes"] = (
        f"A{row + 1}:A{row + causes}",
        [f"{letter}{row}:{letter}{row + causes}" for letter in "BCD"],
    )
    for i in range(1, causes + 1):
        r = row + i
        dash.set(f"A{r}", f'=PIVOT.HEADER(6,"#cause",{i})', style=4)
        for letter, direction, __ in directions:
            dash.set(
                f"{letter}{r}",
                f'=PIVOT.VALUE(6,"__count:sum","#cause",{i},"direction","{direction}")',
                fmt=2,
            )
    r = row + causes + 1
    dash.set(f"A{r}", t("Total"), style=5)
    for letter, direction, __ in directions:
        dash.set(
            f"{letter}{r}",
            f'=PIVOT.VALUE(6,"__count:sum","direction","{direction}")',
            style=5,
            fmt=2,
        )

    # ---- Charts.
    dash.figures.append(
        chart(
            "chart-tier-revenue",
            "customer.profile",
            ["tier_id"],
            "revenue",
            "odoo_pie",
            col_x(4),
            row_y(tier_mix_row + 1),
            sum(COL_SIZES[4:]),
            row_y(tier_mix_end + 1) - row_y(tier_mix_row + 1),
            "",
            legend="right",
        )
    )
    dash.figures.append(
        chart(
            "chart-health-bands",
            "customer.profile",
            ["tier_id", "health_band"],
            "__count",
            "odoo_bar",
            col_x(4),
            row_y(health_row + 1),
            sum(COL_SIZES[4:]),
            row_y(health_end + 1) - row_y(health_row + 1),
            "",
            stacked=True,
        )
    )
    dash.figures.append(
        chart(
            "chart-tier-changes",
            "customer.tier.history",
            ["date:month", "direction"],
            "__count",
            "odoo_bar",
            col_x(4),
            row_y(cause_row + 1),
            sum(COL_SIZES[4:]),
            DEFAULT_ROW * 9,
            "",
            stacked=True,
        )
    )
    del lists_row, matrix_row
    return dash, data


def snapshot():
    dash, data = build()
    return {
        "version": 21,
        "sheets": [
            dash.dump(COL_SIZES, ROW_SIZES),
            data.dump([230, 130, 24, 260, 130]),
        ],
        "styles": STYLES,
        "formats": FORMATS,
        "borders": BORDERS,
        "revisionId": "START_REVISION",
        "uniqueFigureIds": True,
        "settings": {},
        "pivots": PIVOTS,
        "pivotNextId": len(PIVOTS) + 1,
        "customTableStyles": {},
        "odooVersion": 12,
        "globalFilters": GLOBAL_FILTERS,
        "lists": LISTS,
        "listNextId": len(LISTS) + 1,
        "chartOdooMenusReferences": {
            "chart-tier-revenue": "customer_tiering.menu_customer_profile",
            "chart-health-bands": "customer_tiering.menu_customer_profile",
            "chart-tier-changes": "customer_tiering.menu_customer_tier_history",
        },
    }


CALL = re.compile(r"(PIVOT\.VALUE|PIVOT\.HEADER|ODOO\.LIST)\(([^()]*)\)")


class SampleValues:
    """The values the dashboard's formulas give on a database (static)."""

    def __init__(self, env, data):
        self.env, self.pivots, self.lists = env, data["pivots"], data["lists"]
        self._orders = {}

    def _domain(self, spec):
        domain = spec["domain"]
        if isinstance(domain, str):
            from dateutil.relativedelta import relativedelta

            from odoo.tools.safe_eval import datetime, safe_eval

            domain = safe_eval(
                domain,
                {
                    "context_today": datetime.date.today,
                    "relativedelta": relativedelta,
                },
            )
        return list(domain)

    def _order(self, pid, field):
        """The values of ``field`` in pivot ``pid``, in the pivot's order."""
        key = (pid, field)
        if key not in self._orders:
            pivot = self.pivots[pid]
            Model = self.env[pivot["model"]]
            sort = pivot.get("sortedColumn")
            aggregates = [sort["measure"]] if sort else []
            groups = Model._read_group(self._domain(pivot), [field], aggregates)
            if sort and field in [r["fieldName"] for r in pivot["rows"]]:
                groups.sort(key=lambda g: -(g[1] or 0))
            self._orders[key] = [g[0] for g in groups]
        return self._orders[key]

    @staticmethod
    def _key(value):
        return value.id if hasattr(value, "_name") else value

    @staticmethod
    def _label(value):
        if hasattr(value, "_name"):
            return value.display_name if value else "None"
        return value

    def header(self, pid, field, position):
        values = self._order(pid, field.lstrip("#"))
        position = int(position)
        if position > len(values):
            return ""
        value = values[position - 1]
        pivot = self.pivots[pid]
        fname = field.lstrip("#")
        field_obj = self.env[pivot["model"]]._fields[fname]
        if field_obj.type == "selection":
            return dict(field_obj._description_selection(self.env)).get(value, "None")
        return self._label(value)

    def value(self, pid, measure, *pairs):
        pivot = self.pivots[pid]
        domain = self._domain(pivot)
        for field, arg in zip(pairs[::2], pairs[1::2], strict=True):
            fname = field.lstrip("#")
            if field.startswith("#"):
                values = self._order(pid, fname)
                if int(arg) > len(values):
                    return ""
                arg = self._key(values[int(arg) - 1])
            domain.append((fname, "=", arg or False))
        name, aggregator = measure.split(":")
        spec = "__count" if name == "__count" else f"{name}:{aggregator}"
        [[result]] = self.env[pivot["model"]]._read_group(domain, [], [spec])
        return "" if result is None else round(float(result), 4)

    def list_value(self, lid, index, field):
        spec = self.lists[lid]
        order = ", ".join(
            f"{o['name']} {'asc' if o['asc'] else 'desc'}" for o in spec["orderBy"]
        )
        records = self.env[spec["model"]].search(
            self._domain(spec), order=order, limit=int(index)
        )
        if len(records) < int(index):
            return ""
        value = records[int(index) - 1][field]
        return value.display_name if hasattr(value, "_name") else value

    def literal(self, match):
        function, args = match.groups()
        values = [a.strip().strip('"') for a in args.split(",")]
        if function == "PIVOT.HEADER":
            result = self.header(*values)
        elif function == "PIVOT.VALUE":
            result = self.value(*values)
        else:
            result = self.list_value(*values)
        if isinstance(result, int | float) and not isinstance(result, bool):
            return repr(result)
        return '"{}"'.format(str(result or "").replace('"', "'"))


def sample_snapshot(conf, db):
    """The live snapshot with every data formula replaced by its value on
    ``db``, its Odoo charts by static charts over the same cells."""
    import odoo
    from odoo import SUPERUSER_ID, api

    odoo.tools.config.parse_config(["-c", conf, "-d", db])
    data = snapshot()
    with odoo.modules.registry.Registry(db).cursor() as cr:
        env = api.Environment(cr, SUPERUSER_ID, {})
        values = SampleValues(env, data)
        for sheet in data["sheets"]:
            for ref, cell in sheet["cells"].items():
                content = cell["content"]
                if not CALL.search(content):
                    continue
                if "revenue" in content and ref not in sheet["formats"]:
                    sheet["formats"][ref] = 2  # no currency format without pivot
                content = CALL.sub(values.literal, content)
                literal = re.fullmatch(r'=("?)(.*)\1', content)
                if literal and not re.search(r"[(),/+&]", literal[2]):
                    content = literal[2]  # a plain value, no formula left
                cell["content"] = content
    dash = data["sheets"][0]
    static = {
        "chart-tier-revenue": ("pie", SAMPLE_RANGES["tier_revenue"]),
        "chart-health-bands": ("bar", SAMPLE_RANGES["health_bands"]),
        "chart-tier-changes": ("bar", SAMPLE_RANGES["tier_changes"]),
    }
    for figure in dash["figures"]:
        if figure["id"] in static:
            kind, (labels, ranges) = static[figure["id"]]
            figure["data"] = {
                "type": kind,
                "title": {"text": ""},
                "background": "#FFFFFF",
                "legendPosition": "right" if kind == "pie" else "top",
                "dataSetsHaveTitle": True,
                "dataSets": [{"dataRange": r, "yAxisId": "y"} for r in ranges],
                "labelRange": labels,
                "stacked": kind == "bar",
                "aggregated": False,
            }
    for key in ("pivots", "lists", "chartOdooMenusReferences"):
        data[key] = {}
    data["globalFilters"] = []
    data["pivotNextId"] = data["listNextId"] = 1
    return data


# --------------------------------------------------------------------------
# The managers' "Health Backtests" dashboard
# --------------------------------------------------------------------------
# Backtests are for tiering managers only (salespeople have no read right on
# customer.health.backtest): their figures live on a dashboard of their own,
# open to that group, rather than on Key Accounts, which every salesperson
# opens.
BACKTEST_LISTS = {
    "1": {
        "id": "1",
        "name": "Finished Backtests of the Live Scorecard",
        "model": "customer.health.backtest",
        "columns": [
            "name",
            "date_from",
            "date_to",
            "precision",
            "recall",
            "lead_time_days",
            "churner_count",
            "never_flagged_share",
            "caught_count",
        ],
        "domain": [["state", "=", "done"], ["scorecard", "=", "live"]],
        "context": {},
        # The latest first, as Settings shows it.
        "orderBy": [{"name": "write_date", "asc": False}, {"name": "id", "asc": False}],
        "fieldMatching": {},
    },
}
BACKTEST_ROWS = 10
BACKTEST_COLS = [260, 110, 110, 110, 110, 150, 100, 130]


def backtest_card(fid, x, title, key, background):
    return {
        "id": fid,
        "x": x,
        "y": 11,
        "width": 200,
        "height": 101,
        "tag": "chart",
        "data": {
            "title": {"text": title, "bold": True, "color": "#434343"},
            "type": "scorecard",
            "background": background,
            "keyValue": key,
            "baselineMode": "difference",
            "baselineColorDown": "#DC6965",
            "baselineColorUp": "#00A04A",
            "humanize": False,
        },
    }


def backtest_value(index, field, name_ref=None):
    """A backtest's figure from the list: the spreadsheet shows a zero of a
    list as an empty cell, so 0 is added back when the row exists; a lead
    time only when a churner was caught ("-" otherwise, as the form hides
    it)."""
    if field == "lead_time_days":
        value = (
            f'IF(ODOO.LIST(1,{index},"caught_count")="","-",'
            f'ODOO.LIST(1,{index},"lead_time_days"))'
        )
    elif field in ("precision", "recall", "never_flagged_share", "churner_count"):
        value = f'ODOO.LIST(1,{index},"{field}")+0'
    else:
        return f'=ODOO.LIST(1,{index},"{field}")'
    exists = name_ref or f'ODOO.LIST(1,{index},"name")'
    return f'=IF({exists}="","",{value})'


def backtest_snapshot():
    dash = Sheet("health_backtest_dashboard", "Dashboard")
    data = Sheet("health_backtest_data", "Data")
    # ---- Data sheet: the cards' values (the latest backtest).
    data.set("A1", t("Latest backtest"), style=2)
    data.set("B1", t("Value"), style=2)
    for i, (label, field, fmt) in enumerate(
        [
            ("Precision (at risk)", "precision", 1),
            ("Recall (at risk)", "recall", 1),
            ("Lead time (days)", "lead_time_days", 3),
        ],
        start=2,
    ):
        data.set(f"A{i}", t(label))
        data.set(f"B{i}", backtest_value(1, field), fmt=fmt)
    for i, (title, ref, background) in enumerate(
        [
            ("Precision (At Risk)", "B2", "#EFF6FF"),
            ("Recall (At Risk)", "B3", "#F0FDF4"),
            ("Lead Time (Days)", "B4", "#FFF7ED"),
        ]
    ):
        dash.figures.append(
            backtest_card(
                f"backtest-kpi-{i + 1}", i * 210, title, f"Data!{ref}", background
            )
        )
    row = 7
    dash.set(
        f"A{row}",
        link(
            "Backtests of the live scorecard",
            "list",
            "customer.health.backtest",
            domain=BACKTEST_LISTS["1"]["domain"],
            name="Health Backtests",
        ),
        style=1,
    )
    for letter in "ABCDEFGH":
        dash.borders[f"{letter}{row}"] = 1
    rows = {row - 1: 40}
    row += 1
    head = [
        ("name", "Backtest", 2, None),
        ("date_from", "First day", 2, None),
        ("date_to", "Last day", 2, None),
        ("precision", "Precision", 3, 1),
        ("recall", "Recall", 3, 1),
        ("lead_time_days", "Lead time (days)", 3, 3),
        ("churner_count", "Churners", 3, 2),
        ("never_flagged_share", "Never flagged", 3, 1),
    ]
    for letter, (__, text, style, __) in zip("ABCDEFGH", head, strict=True):
        dash.set(f"{letter}{row}", t(text), style=style, border=1)
    for i in range(1, BACKTEST_ROWS + 1):
        for letter, (field, __, __, fmt) in zip("ABCDEFGH", head, strict=True):
            dash.set(
                f"{letter}{row + i}",
                backtest_value(i, field, name_ref=f"A{row + i}"),
                fmt=fmt,
            )
    return {
        "version": 21,
        "sheets": [dash.dump(BACKTEST_COLS, rows), data.dump([230, 130])],
        "styles": STYLES,
        "formats": FORMATS,
        "borders": BORDERS,
        "revisionId": "START_REVISION",
        "uniqueFigureIds": True,
        "settings": {},
        "pivots": {},
        "pivotNextId": 1,
        "customTableStyles": {},
        "odooVersion": 12,
        "globalFilters": [],
        "lists": BACKTEST_LISTS,
        "listNextId": len(BACKTEST_LISTS) + 1,
        "chartOdooMenusReferences": {
            f"backtest-kpi-{i}": "customer_tiering.menu_customer_health_backtest"
            for i in (1, 2, 3)
        },
    }


# Where the sample's static charts read their data (set by build()).
SAMPLE_RANGES = {}


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    text = json.dumps(snapshot(), indent=1, ensure_ascii=False)
    assert not re.search(r"\bNaN\b", text)
    (OUT / "key_accounts_dashboard.json").write_text(text + "\n")
    text = json.dumps(backtest_snapshot(), indent=1, ensure_ascii=False)
    (OUT / "health_backtest_dashboard.json").write_text(text + "\n")
    if len(sys.argv) == 4 and sys.argv[1] == "--sample":
        sample = sample_snapshot(sys.argv[2], sys.argv[3])
        text = json.dumps(sample, indent=1, ensure_ascii=False)
        (OUT / "key_accounts_sample_dashboard.json").write_text(text + "\n")


if __name__ == "__main__":
    main()
