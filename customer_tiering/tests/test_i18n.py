# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from pathlib import Path

from odoo.tests import TransactionCase, tagged
from odoo.tools.translate import PoFileReader, TranslationModuleReader

I18N = Path(__file__).resolve().parent.parent / "i18n"


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

    def test_chinese_user_sees_chinese(self):
        self.env["res.lang"]._activate_lang("zh_CN")
        self.env["ir.module.module"]._load_module_terms(
            ["customer_tiering"], ["zh_CN"], overwrite=True
        )
        tier = self.env.ref("customer_tiering.tier_s").with_context(lang="zh_CN")
        self.assertEqual(tier.name, "战略")
        message = tier.env._("Only Customer Tiering managers can do this.")
        self.assertEqual(message, "只有客户分级经理可以执行此操作。")
