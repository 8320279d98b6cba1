# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from pathlib import Path

from odoo.tests import TransactionCase, tagged
from odoo.tools.translate import PoFileReader, TranslationModuleReader

I18N = Path(__file__).resolve().parent.parent / "i18n"


def untranslated_uses(env, po_path):
    """The uses of the addon's terms (model records, views, code) that the
    catalogue ``po_path`` does not translate."""
    env["res.lang"]._activate_lang("zh_CN")
    used = set()
    for term in TranslationModuleReader(
        env.cr, modules=["customer_tiering"], lang="zh_CN"
    ):
        __, kind, name, res_id, src, __, comments = term[:7]
        if not src.strip() or "/tests/" in name:
            continue
        if kind == "code":
            used.update((kind, src, flag) for flag in comments or ())
        else:
            used.add((kind, name, res_id, src))
    referenced = set()
    with open(po_path, "rb") as po:
        for entry in PoFileReader(po):
            if not entry["value"].strip():
                continue
            if entry["type"] == "code":
                # Code entries are keyed by their text (whatever the file).
                referenced.update(
                    ("code", entry["src"], flag)
                    for flag in (entry["comments"] or "").split("\n")
                )
            else:
                referenced.add(
                    (
                        entry["type"],
                        entry["name"],
                        f"{entry['module']}.{entry['imd_name']}",
                        entry["src"],
                    )
                )
    return sorted(map(str, used - referenced))


@tagged("post_install", "-at_install")
class TestTranslations(TransactionCase):
    def test_zh_cn_is_complete(self):
        """Every user-facing term of the addon has a Simplified Chinese text."""
        self.env["res.lang"]._activate_lang("zh_CN")
        sources = {
            term[4]
            for term in TranslationModuleReader(
                self.env.cr, modules=["customer_tiering"], lang="zh_CN"
            )
            if term[4].strip()
        }
        self.assertGreater(len(sources), 100)
        with (I18N / "zh_CN.po").open("rb") as po:
            translated = {
                entry["src"] for entry in PoFileReader(po) if entry["value"].strip()
            }
        missing = sorted(sources - translated)
        self.assertFalse(missing, f"{len(missing)} terms without zh_CN translation")

    def test_zh_cn_references(self):
        """Each translation names every place its term is used: Odoo applies
        a model or view entry only to the records it references (a term
        translated for one menu stays English on a dashboard named the same),
        and a code entry to Python or the web client as its flags say."""
        missing = untranslated_uses(self.env, I18N / "zh_CN.po")
        self.assertFalse(missing, f"{len(missing)} uses without translation")

    def test_chinese_user_sees_chinese(self):
        self.env["res.lang"]._activate_lang("zh_CN")
        self.env["ir.module.module"]._load_module_terms(
            ["customer_tiering"], ["zh_CN"], overwrite=True
        )
        tier = self.env.ref("customer_tiering.tier_s").with_context(lang="zh_CN")
        self.assertEqual(tier.name, "战略")
        message = tier.env._("Only Customer Tiering managers can do this.")
        self.assertEqual(message, "只有客户分级经理可以执行此操作。")
