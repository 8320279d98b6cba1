# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Who reads, writes, creates and deletes what: the access matrix.

Seven columns (a user, and the customer the operation is about):

- portal: the portal user of customer C1;
- internal: an internal user without Sales rights (contact creation only);
- own/own: a "Sales / User: Own Documents Only" salesman, on his customer C1;
- own/other: the same salesman, on C2 (the customer of another salesman);
- all docs: a "Sales / User: All Documents" user, on C2;
- sales admin: a Sales Administrator, on C2;
- tiering mgr: an own-documents salesman who is Customer Tiering manager, on C2.

Cells: ``Y`` allowed, ``-`` refused (AccessError / UserError), for fields
``R`` read (the true value), ``E`` read but empty (the record rules hide the
customer's assessment), ``ro`` a read-only field.  ``matrix_table()`` renders
the matrix as a Markdown table; the test prints it (``pytest -s``).
"""

from datetime import timedelta

from lxml import etree

from odoo import fields
from odoo.exceptions import AccessError, UserError
from odoo.tests import new_test_user, tagged

from .common import TieringCase

COLUMNS = (
    "portal",
    "internal",
    "own/own",
    "own/other",
    "all docs",
    "sales admin",
    "tiering mgr",
)
# Which customer each column's operation is about.
TARGET = {"own/own": 1, "portal": 1, "internal": 1}

# Expected cells per (model, operation), in COLUMNS order.
MODEL_MATRIX = {
    ("customer.profile", "read"): "--Y-YYY",
    ("customer.profile", "write"): "-----YY",
    ("customer.profile", "create"): "-----YY",
    ("customer.profile", "unlink"): "-------",
    ("customer.tier.history", "read"): "--Y-YYY",
    ("customer.tier.history", "write"): "-------",
    ("customer.tier.history", "create"): "-------",
    ("customer.tier.history", "unlink"): "-------",
    ("customer.health.snapshot", "read"): "--Y-YYY",
    ("customer.health.snapshot", "write"): "-------",
    ("customer.health.snapshot", "create"): "-------",
    ("customer.health.snapshot", "unlink"): "-------",
    ("customer.account.review", "read"): "--Y-YYY",
    ("customer.account.review", "write"): "--Y--YY",
    ("customer.account.review", "create"): "--Y-YYY",
    ("customer.account.review", "unlink"): "--Y--YY",
    ("customer.touch", "read"): "--Y-YYY",
    ("customer.touch", "write"): "--Y--YY",
    ("customer.touch", "create"): "-----YY",
    ("customer.touch", "unlink"): "-----YY",
    ("customer.plan.compliance.report", "read"): "--Y-YYY",
    ("customer.plan.compliance.report", "write"): "-------",
    ("customer.plan.compliance.report", "create"): "-------",
    ("customer.plan.compliance.report", "unlink"): "-------",
    # Key moments: recorded by the salespeople of the customer.
    ("customer.key.moment", "read"): "--Y-YYY",
    ("customer.key.moment", "write"): "--Y-YYY",
    ("customer.key.moment", "create"): "--Y-YYY",
    ("customer.key.moment", "unlink"): "--Y-YYY",
    # Configuration: every tiering user reads it, managers change it.
    ("customer.tier", "read"): "--YYYYY",
    ("customer.tier", "write"): "-----YY",
    ("customer.tier", "create"): "-----YY",
    ("customer.tier", "unlink"): "-----YY",
    ("customer.health.dimension", "read"): "--YYYYY",
    ("customer.health.dimension", "write"): "-----YY",
    ("customer.health.dimension", "create"): "-------",
    ("customer.health.dimension", "unlink"): "-------",
    ("customer.maintenance.plan", "read"): "--YYYYY",
    ("customer.maintenance.plan", "write"): "-----YY",
    ("customer.maintenance.plan", "create"): "-----YY",
    ("customer.maintenance.plan", "unlink"): "-----YY",
    ("customer.maintenance.plan.line", "read"): "--YYYYY",
    ("customer.maintenance.plan.line", "write"): "-----YY",
    ("customer.maintenance.plan.line", "create"): "-----YY",
    ("customer.maintenance.plan.line", "unlink"): "-----YY",
    ("customer.key.moment.type", "read"): "--YYYYY",
    ("customer.key.moment.type", "write"): "-----YY",
    ("customer.key.moment.type", "create"): "-----YY",
    ("customer.key.moment.type", "unlink"): "-----YY",
}
# Configuration models: create and unlink are checked, not done (access
# rights and rules), so that the shipped ladder and plans stay usable.
CONFIG_MODELS = {
    "customer.tier",
    "customer.health.dimension",
    "customer.maintenance.plan",
    "customer.maintenance.plan.line",
    "customer.key.moment.type",
}
# Partner fields that are labels, like tags: every tiering user of the
# company reads them, whoever the customer's salesperson is.
PARTNER_LABELS = {
    "customer_tier_id",
    "customer_tier_color",
    "customer_company_tier_id",
    "customer_company_tier_color",
    "customer_health_band",
    "customer_strategic",
    "customer_expert_user_id",
}
# Expected reads per Odoo model (partner: per kind of field).
FIELD_READ = {
    "res.partner": ("--RRRRR", "--RERRR"),  # labels, assessment
    # The orders themselves follow Odoo's sales rules (own/other and the
    # own-documents tiering manager cannot read C2's order).
    "sale.order": ("--RRRRR", "--R-RR-"),
    "mail.activity": ("--RRRRR", "--RRRRR"),
    "res.company": ("-RRRRRR", "-RRRRRR"),
}
# Expected writes of the writable fields.
FIELD_WRITE = {
    ("res.partner", "customer_strategic"): "-----YY",
    ("res.partner", "customer_expert_user_id"): "--YYYYY",
    ("res.partner", "customer_pinned_plan_id"): "-----YY",
    # Odoo's activity access: who may edit the customer edits its activities.
    ("mail.activity", "customer_touch_outcome"): "--YYYYY",
    ("mail.activity", "customer_touch_note"): "--YYYYY",
}
SECRET = "Confidential override reason"


def addon_fields(env):
    """``{model: [field names]}``: the fields this addon adds to Odoo's models."""
    result = {}
    for name, model in env.registry.items():
        if (
            model._transient
            or model._abstract
            or model._original_module == ("customer_tiering")
        ):
            continue
        names = [
            fname
            for fname, field in model._fields.items()
            if field._module == "customer_tiering"
        ]
        if names:
            result[name] = sorted(names)
    return result


def _plain(value):
    """A read() value comparable across users (many2one: its id only)."""
    return value[0] if isinstance(value, tuple) else value


class AccessCase(TieringCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        env = cls.env
        cls.today = fields.Date.context_today(cls.customer)
        contacts = "base.group_partner_manager"
        cls.own = new_test_user(
            env,
            login="ct_acc_own",
            groups=f"sales_team.group_sale_salesman,{contacts}",
            name="Own Documents Salesman",
        )
        cls.other = new_test_user(
            env,
            login="ct_acc_other",
            groups=f"sales_team.group_sale_salesman,{contacts}",
            name="Other Salesman",
        )
        cls.c1 = env["res.partner"].create(
            {"name": "Access C1", "is_company": True, "user_id": cls.own.id}
        )
        cls.c2 = env["res.partner"].create(
            {"name": "Access C2", "is_company": True, "user_id": cls.other.id}
        )
        cls.c1_contact = env["res.partner"].create(
            {"name": "C1 buyer", "parent_id": cls.c1.id, "email": "c1@example.com"}
        )
        cls.users = {
            "portal": new_test_user(
                env,
                login="ct_acc_portal",
                groups="base.group_portal",
                partner_id=cls.c1_contact.id,
            ),
            "internal": new_test_user(
                env, login="ct_acc_internal", groups=f"base.group_user,{contacts}"
            ),
            "own/own": cls.own,
            "own/other": cls.own,
            "all docs": new_test_user(
                env,
                login="ct_acc_all",
                groups=f"sales_team.group_sale_salesman_all_leads,{contacts}",
            ),
            "sales admin": new_test_user(
                env, login="ct_acc_admin", groups="sales_team.group_sale_manager"
            ),
            "tiering mgr": new_test_user(
                env,
                login="ct_acc_tmgr",
                groups="sales_team.group_sale_salesman,"
                f"customer_tiering.group_customer_tiering_manager,{contacts}",
            ),
        }
        cls.orders = {
            1: cls.make_order(cls.c1, 600_000, days_ago=40, user_id=cls.own.id),
            2: cls.make_order(cls.c2, 600_000, days_ago=40, user_id=cls.other.id),
        }
        cls.line = env.ref("customer_tiering.plan_strategic_call")
        cls.renewal = env.ref("customer_tiering.key_moment_type_contract_renewal")
        cls.data = {}
        for key, partner, author in ((1, cls.c1, cls.own), (2, cls.c2, cls.other)):
            env["customer.tier.override.wizard"].create(
                {
                    "partner_id": partner.id,
                    "tier_id": cls.tier_a.id,
                    "reason": f"{SECRET} {key}",
                    "until": cls.today + timedelta(days=90),
                }
            ).action_apply()
            profile = env["customer.profile"].search(
                [("partner_id", "=", partner.id), ("company_id", "=", cls.company.id)]
            )
            review = env["customer.account.review"].create(
                {
                    "partner_id": partner.id,
                    "user_id": author.id,
                    "satisfaction": "4",
                    "notes": f"<p>Review notes {key}</p>",
                }
            )
            touch = env["customer.touch"].create(
                {
                    "profile_id": profile.id,
                    "partner_id": partner.id,
                    "company_id": cls.company.id,
                    "plan_line_id": cls.line.id,
                    "plan_id": cls.line.plan_id.id,
                    "date": cls.today - timedelta(days=3),
                    "deadline": cls.today - timedelta(days=5),
                    "user_id": author.id,
                    "note": f"Touch note {key}",
                }
            )
            activity = (
                env["mail.activity"]
                .with_context(mail_activity_quick_update=True)
                .create(
                    {
                        "res_model_id": env["ir.model"]._get_id("res.partner"),
                        "res_id": partner.id,
                        "activity_type_id": env.ref("mail.mail_activity_data_call").id,
                        "user_id": author.id,
                        "date_deadline": cls.today + timedelta(days=3),
                        "customer_plan_line_id": cls.line.id,
                        "customer_profile_id": profile.id,
                        "customer_touch_outcome": "neutral",
                        "customer_touch_note": f"Outcome note {key}",
                    }
                )
            )
            moment = env["customer.key.moment"].create(
                {
                    "partner_id": partner.id,
                    "type_id": cls.renewal.id,
                    "date": cls.today + timedelta(days=100),
                    "user_id": author.id,
                    "note": f"Renewal note {key}",
                }
            )
            cls.data[key] = {
                "partner": partner,
                "customer.profile": profile,
                "customer.tier.history": profile.history_ids[:1],
                "customer.health.snapshot": profile.health_snapshot_ids[:1],
                "customer.account.review": review,
                "customer.touch": touch,
                "customer.plan.compliance.report": env[
                    "customer.plan.compliance.report"
                ].search([("partner_id", "=", partner.id)], limit=1),
                "mail.activity": activity,
                "sale.order": cls.orders[key],
                "customer.key.moment": moment,
            }
        # Customers without profile yet, to create one for.
        cls.no_profile = {
            1: env["res.partner"].create(
                {"name": "Access P1", "is_company": True, "user_id": cls.own.id}
            ),
            2: env["res.partner"].create(
                {"name": "Access P2", "is_company": True, "user_id": cls.other.id}
            ),
        }
        for key in (1, 2):
            for model, record in cls.data[key].items():
                assert record, f"test data: no {model} for C{key}"

    # ------------------------------------------------------------------
    # Running one operation as a user, always rolled back
    # ------------------------------------------------------------------
    def attempt(self, func):
        """``Y`` when ``func`` succeeds, ``-`` when access is refused; the
        database is left as it was either way."""

        class Rollback(Exception):
            pass

        try:
            with self.env.cr.savepoint():
                func()
                self.env.flush_all()
                raise Rollback()
        except Rollback:
            return "Y"
        except (AccessError, UserError):
            return "-"
        finally:
            self.env.invalidate_all()

    def column_cases(self):
        for column in COLUMNS:
            yield column, self.users[column], TARGET.get(column, 2)

    # ------------------------------------------------------------------
    # Addon models
    # ------------------------------------------------------------------
    def model_ops(self, model, user, key):
        """The four operations on ``model`` by ``user`` about customer ``key``."""
        env = self.env(user=user)
        if model in CONFIG_MODELS:
            record = {
                "customer.tier": self.tier_c,
                "customer.health.dimension": self.env[
                    "customer.health.dimension"
                ].search([("company_id", "=", self.company.id)], limit=1),
                "customer.maintenance.plan": self.line.plan_id,
                "customer.maintenance.plan.line": self.line,
                "customer.key.moment.type": self.renewal,
            }[model]
            field = {
                "customer.tier": "color",
                "customer.health.dimension": "weight",
                "customer.maintenance.plan": "goal",
                "customer.maintenance.plan.line": "lead_days",
                "customer.key.moment.type": "window_days",
            }[model]
            write = {field: record[field]}
            return {
                "read": lambda: record.with_env(env).read(["display_name"]),
                "write": lambda: record.with_env(env).write(write),
                "create": lambda: record.with_env(env).check_access("create"),
                "unlink": lambda: record.with_env(env).check_access("unlink"),
            }
        data = self.data[key]
        record = data[model].with_env(env)
        partner, profile = data["partner"], data["customer.profile"]
        base = {"partner_id": partner.id, "company_id": self.company.id}
        on_profile = {**base, "profile_id": profile.id}
        create = {
            "customer.profile": {**base, "partner_id": self.no_profile[key].id},
            "customer.tier.history": {
                **on_profile,
                "to_tier_id": self.tier_c.id,
                "cause": "initial",
            },
            "customer.health.snapshot": {
                **on_profile,
                "date": self.today,
                "score": 50,
                "band": "watch",
                "reason": "monthly",
            },
            "customer.account.review": {
                "partner_id": partner.id,
                "satisfaction": "3",
            },
            "customer.touch": {**on_profile, "date": self.today, "state": "done"},
            "customer.plan.compliance.report": {"partner_id": partner.id},
            "customer.key.moment": {
                "partner_id": partner.id,
                "type_id": self.renewal.id,
                "date": self.today + timedelta(days=30),
            },
        }[model]
        write = {
            "customer.profile": {"pinned_plan_id": False},
            "customer.tier.history": {"reason": "Changed"},
            "customer.health.snapshot": {"score": 1.0},
            "customer.account.review": {"notes": "<p>Changed</p>"},
            "customer.touch": {"note": "Changed"},
            "customer.plan.compliance.report": {"outcome": False},
            "customer.key.moment": {"note": "Changed"},
        }[model]
        return {
            "read": lambda: record.read(["partner_id"]),
            "write": lambda: record.write(write),
            "create": lambda: env[model].create(create),
            "unlink": lambda: record.unlink(),
        }

    def model_matrix(self):
        actual = {}
        for model, operation in MODEL_MATRIX:
            cells = []
            for __, user, key in self.column_cases():
                ops = self.model_ops(model, user, key)
                cells.append(self.attempt(ops[operation]))
            actual[model, operation] = "".join(cells)
        return actual

    # ------------------------------------------------------------------
    # Addon fields on Odoo's models
    # ------------------------------------------------------------------
    def field_record(self, model, key):
        if model == "res.partner":
            return self.data[key]["partner"]
        if model == "res.company":
            return self.company
        return self.data[key][model]

    def expected_read(self, model, fname):
        labels, assessment = FIELD_READ[model]
        if model == "res.partner":
            return labels if fname in PARTNER_LABELS else assessment
        if model == "sale.order":
            return assessment
        return labels

    def read_cell(self, model, fname, user, key):
        record = self.field_record(model, key)
        truth = _plain(record.read([fname])[0][fname])
        # The cache is shared by every user of the transaction: what the
        # superuser read must not be served to the user.
        self.env.invalidate_all()
        try:
            value = _plain(record.with_user(user).read([fname])[0][fname])
        except AccessError:
            return "-", truth
        finally:
            self.env.invalidate_all()
        if value == truth:
            return "R", truth
        return ("E" if not value else "X"), truth

    def write_value(self, model, fname, record):
        if model == "res.company":
            return record[fname]  # the same value: only the rights are tried
        return {
            "customer_strategic": lambda: not record.customer_strategic,
            "customer_expert_user_id": lambda: self.other.id,
            "customer_pinned_plan_id": lambda: self.line.plan_id.id,
            "customer_touch_outcome": lambda: "positive",
            "customer_touch_note": lambda: "Changed",
        }[fname]()

    def field_matrix(self):
        """``{(model, field): (read cells, write cells)}`` and the fields
        whose true value was empty for some column (an ``E`` expected there
        cannot be told from an ``R``)."""
        actual, empty = {}, set()
        for model, names in addon_fields(self.env).items():
            for fname in names:
                field = self.env[model]._fields[fname]
                writable = (
                    field.type not in ("one2many", "many2many")
                    and (not field.readonly or field.inverse)
                    and (model != "res.company" or field.store)
                )
                reads, writes = [], []
                for __, user, key in self.column_cases():
                    cell, truth = self.read_cell(model, fname, user, key)
                    if not truth:
                        empty.add((model, fname))
                    reads.append(cell)
                    if writable:
                        record = self.field_record(model, key)
                        value = self.write_value(model, fname, record)
                        if hasattr(value, "id"):
                            value = value.id
                        writes.append(
                            self.attempt(
                                lambda r=record, v=value, u=user, f=fname: r.with_user(
                                    u
                                ).write({f: v})
                            )
                        )
                actual[model, fname] = ("".join(reads), "".join(writes) or "ro")
        return actual, empty

    def matrix_table(self, models=None, fields_=None):
        """The access matrix as Markdown."""
        models = models if models is not None else self.model_matrix()
        fields_ = fields_ if fields_ is not None else self.field_matrix()[0]
        lines = [
            "| object | operation | " + " | ".join(COLUMNS) + " |",
            "|---|---|" + "---|" * len(COLUMNS),
        ]
        for (model, operation), cells in models.items():
            lines.append(f"| {model} | {operation} | " + " | ".join(cells) + " |")
        for (model, fname), (reads, writes) in sorted(fields_.items()):
            lines.append(f"| {model}.{fname} | read | " + " | ".join(reads) + " |")
            cells = ["ro"] * len(COLUMNS) if writes == "ro" else list(writes)
            if writes != "ro":
                lines.append(f"| {model}.{fname} | write | " + " | ".join(cells) + " |")
        return "\n".join(lines)


@tagged("post_install", "-at_install")
class TestAccessMatrix(AccessCase):
    def test_every_addon_field_of_odoo_models_has_groups(self):
        found = addon_fields(self.env)
        self.assertIn("res.partner", found)
        self.assertIn("sale.order", found)
        self.assertIn("mail.activity", found)
        ungrouped = [
            f"{model}.{fname}"
            for model, names in found.items()
            for fname in names
            if not self.env[model]._fields[fname].groups
        ]
        self.assertEqual(ungrouped, [])

    def test_access_matrix(self):
        models = self.model_matrix()
        fields_, empty = self.field_matrix()
        print("\n" + self.matrix_table(models, fields_))  # pylint: disable=print-used
        self.assertEqual(models, MODEL_MATRIX)
        problems = []
        for (model, fname), (reads, writes) in fields_.items():
            expected = self.expected_read(model, fname)
            for column, want, got in zip(COLUMNS, expected, reads, strict=True):
                if want == got or (
                    want == "E" and got == "R" and (model, fname) in empty
                ):
                    continue
                problems.append(f"read {model}.{fname} as {column}: {got}, not {want}")
            want_writes = FIELD_WRITE.get(
                (model, fname), "-------" if writes != "ro" else "ro"
            )
            if writes != want_writes:
                problems.append(f"write {model}.{fname}: {writes}, not {want_writes}")
        self.assertEqual(problems, [])
        # The figures that matter are set, so that "E" shows they are hidden.
        for fname in (
            "customer_override_reason",
            "customer_revenue",
            "customer_lifetime_revenue",
            "customer_health_score",
            "customer_health_reasons",
        ):
            self.assertNotIn(("res.partner", fname), empty, fname)

    def test_portal_and_internal_users_read_no_assessment(self):
        partner = self.c1
        names = addon_fields(self.env)["res.partner"]
        for column in ("portal", "internal"):
            user = self.users[column]
            with self.assertRaises(AccessError, msg=column):
                partner.with_user(user).read(["customer_override_reason"])
            with self.assertRaises(AccessError, msg=column):
                partner.with_user(user).read(["customer_revenue"])
            listed = partner.with_user(user).fields_get()
            self.assertFalse(set(names) & set(listed), column)
            # Every plain field the user may read: no tiering data.
            plain = [
                name
                for name, desc in listed.items()
                if desc["type"] not in ("many2one", "one2many", "many2many")
                and partner._fields[name].store
            ]
            data = partner.with_user(user).read(plain)[0]
            self.assertFalse(set(names) & set(data), column)
            self.assertNotIn(SECRET, str(data))

    def test_salesman_reads_only_own_customers_assessment(self):
        own = self.c1.with_user(self.own)
        other = self.c2.with_user(self.own)
        self.assertEqual(own.customer_override_reason, f"{SECRET} 1")
        self.assertTrue(own.customer_revenue)
        self.assertFalse(other.customer_override_reason)
        self.assertFalse(other.customer_revenue)
        self.assertFalse(other.customer_health_reasons)
        self.assertFalse(other.customer_profile_id)
        self.assertEqual(other.customer_tier_history_count, 0)
        # The labels stay readable, like tags.
        self.assertEqual(other.customer_tier_id, self.tier_a)
        # Searching through the assessment finds only readable customers.
        Partner = self.env["res.partner"].with_user(self.own)
        found = Partner.search(
            [("customer_tier_overridden", "=", True), ("id", "in", self.data_ids())]
        )
        self.assertEqual(found, self.c1)
        Profile = self.env["customer.profile"].with_user(self.own)
        self.assertEqual(
            Profile.search([("partner_id", "in", self.data_ids())]).partner_id, self.c1
        )
        # The leader of the salesperson's team and a follower see it too.
        team = self.env["crm.team"].create({"name": "C2 team", "user_id": self.own.id})
        self.env["crm.team.member"].create(
            {"crm_team_id": team.id, "user_id": self.other.id}
        )
        self.env.invalidate_all()
        self.assertEqual(
            self.c2.with_user(self.own).customer_override_reason, f"{SECRET} 2"
        )
        follower = new_test_user(
            self.env, login="ct_acc_follower", groups="sales_team.group_sale_salesman"
        )
        self.c2.message_subscribe(partner_ids=follower.partner_id.ids)
        self.assertEqual(
            self.c2.with_user(follower).customer_override_reason, f"{SECRET} 2"
        )

    def data_ids(self):
        return (self.c1 | self.c2).ids

    def test_views_load_for_every_user(self):
        views = {
            "res.partner": ["form", "list", "kanban", "search"],
            "sale.order": ["form"],
            "mail.activity": ["form"],
            "customer.account.review": ["form", "list"],
        }
        for column, user in self.users.items():
            for model, types in views.items():
                Model = self.env[model].with_user(user)
                if model.startswith("customer.") and not user.has_group(
                    "customer_tiering.group_customer_tiering_user"
                ):
                    continue
                if column == "portal" and model != "res.partner":
                    continue
                if model == "sale.order" and column == "internal":
                    continue
                result = Model.get_views([(False, kind) for kind in types])
                if user.has_group("customer_tiering.group_customer_tiering_user"):
                    continue
                names = addon_fields(self.env).get(model, [])
                for kind in types:
                    arch = result["views"][kind]["arch"]
                    for fname in names:
                        self.assertNotIn(f'name="{fname}"', arch, f"{column} {kind}")


@tagged("post_install", "-at_install")
class TestReviewAuthor(AccessCase):
    def test_only_managers_record_reviews_for_another_author(self):
        Review = self.env["customer.account.review"]
        profile = self.data[1]["customer.profile"]
        score = profile.health_score
        with self.assertRaises(AccessError):
            Review.with_user(self.own).create(
                {
                    "partner_id": self.c1.id,
                    "user_id": self.other.id,
                    "satisfaction": "1",
                    "needs_met": "1",
                }
            )
        profile.invalidate_recordset()
        self.assertEqual(profile.health_score, score, "the refused review moved it")
        mine = Review.with_user(self.own).create(
            {"partner_id": self.c1.id, "satisfaction": "2"}
        )
        self.assertEqual(mine.user_id, self.own)
        same = Review.with_user(self.own).create(
            {"partner_id": self.c1.id, "user_id": self.own.id, "satisfaction": "2"}
        )
        self.assertEqual(same.user_id, self.own)
        with self.assertRaises(AccessError):
            mine.with_user(self.own).write({"user_id": self.other.id})
        for column in ("sales admin", "tiering mgr"):
            manager = self.users[column]
            theirs = Review.with_user(manager).create(
                {"partner_id": self.c1.id, "user_id": self.own.id, "satisfaction": "5"}
            )
            self.assertEqual(theirs.user_id, self.own)
            theirs.with_user(manager).user_id = self.other
            self.assertEqual(theirs.user_id, self.other)

    def test_author_is_read_only_in_the_form_for_non_managers(self):
        def author_nodes(user):
            arch = (
                self.env["customer.account.review"]
                .with_user(user)
                .get_views([(False, "form")])["views"]["form"]["arch"]
            )
            return etree.fromstring(arch).xpath("//field[@name='user_id']")

        nodes = author_nodes(self.own)
        self.assertEqual(len(nodes), 1)
        self.assertIn(nodes[0].get("readonly"), ("1", "True", "true"))
        nodes = author_nodes(self.users["tiering mgr"])
        self.assertEqual(len(nodes), 1)
        self.assertFalse(nodes[0].get("readonly"))


@tagged("post_install", "-at_install")
class TestStrategicFlag(AccessCase):
    def test_only_tiering_managers_change_the_strategic_flag(self):
        # Tier A: 500k and a strategic account.
        self.tier_a.write({"min_revenue": 500_000, "require_strategic": True})
        customer = self.env["res.partner"].create(
            {"name": "Strategic C3", "is_company": True, "user_id": self.own.id}
        )
        self.make_order(customer, 600_000)
        self.assertEqual(self.tier_of(customer), self.tier_b)
        for column in ("own/own", "all docs", "internal"):
            with self.assertRaises(AccessError, msg=column):
                customer.with_user(self.users[column]).write(
                    {"customer_strategic": True}
                )
            with self.assertRaises(AccessError, msg=column):
                self.env["res.partner"].with_user(self.users[column]).create(
                    {
                        "name": "Self-made",
                        "is_company": True,
                        "customer_strategic": True,
                    }
                )
        self.assertFalse(customer.customer_strategic)
        self.assertEqual(self.tier_of(customer), self.tier_b)
        # Other fields stay writable for contact managers.
        customer.with_user(self.own).write({"phone": "+1 555 0100"})
        customer.with_user(self.users["tiering mgr"]).with_context(
            tracking_disable=False, mail_notrack=False
        ).customer_strategic = True
        self.env.flush_all()
        self.env.cr.precommit.run()  # tracking values are written at commit
        self.assertEqual(self.tier_of(customer), self.tier_a)
        history = self.profile(customer).history_ids.sorted("id")[-1]
        self.assertEqual(
            (history.from_tier_id, history.to_tier_id, history.cause),
            (self.tier_b, self.tier_a, "strategic"),
        )
        tracked = customer.message_ids.tracking_value_ids.filtered(
            lambda t: t.field_id.name == "customer_strategic"
        )
        self.assertTrue(tracked, "the flag stays tracked")
        note = customer.message_ids.filtered(
            lambda m: "Strategic flag changed" in (m.body or "")
        )
        self.assertTrue(note)

    def test_strategic_flag_read_only_in_the_form_for_non_managers(self):
        for user, readonly in ((self.own, True), (self.users["tiering mgr"], False)):
            arch = (
                self.env["res.partner"]
                .with_user(user)
                .get_views([(False, "form")])["views"]["form"]["arch"]
            )
            nodes = etree.fromstring(arch).xpath("//field[@name='customer_strategic']")
            self.assertEqual(len(nodes), 1)
            self.assertEqual(
                nodes[0].get("readonly") in ("1", "True", "true"), readonly
            )

    def test_sales_administrator_clears_the_flag(self):
        self.c1.customer_strategic = True
        self.c1.with_user(self.users["sales admin"]).customer_strategic = False
        self.assertFalse(self.c1.customer_strategic)
