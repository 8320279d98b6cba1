# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import api, fields, models

from .customer_profile import CHANNEL_PARAM, DEFAULT_CHANNEL, refresh_key


class ResConfigSettings(models.TransientModel):
    _inherit = "res.config.settings"

    customer_tiering_queue_job_channel = fields.Char(
        string="Job Channel",
        config_parameter=CHANNEL_PARAM,
        default=DEFAULT_CHANNEL,
        help="The queue_job channel of the refresh and scheduling jobs; its "
        "capacity in the job runner's configuration is how many run at once.",
    )
    customer_tiering_jobs_done = fields.Integer(
        string="Jobs Done", compute="_compute_customer_tiering_jobs"
    )
    customer_tiering_jobs_total = fields.Integer(
        string="Jobs", compute="_compute_customer_tiering_jobs"
    )
    customer_tiering_jobs_failed = fields.Integer(
        string="Jobs Failed", compute="_compute_customer_tiering_jobs"
    )
    customer_tiering_jobs_progress = fields.Char(
        string="Refresh Jobs", compute="_compute_customer_tiering_jobs"
    )

    @api.depends("company_id")
    def _compute_customer_tiering_jobs(self):
        Profile = self.env["customer.profile"]
        for settings in self:
            (
                settings.customer_tiering_jobs_done,
                settings.customer_tiering_jobs_total,
                settings.customer_tiering_jobs_failed,
            ) = done, total, failed = Profile._customer_tiering_run_progress(
                settings.company_id
            )
            settings.customer_tiering_jobs_progress = self.env._(
                "Current or last refresh: %(done)s of %(total)s jobs done, "
                "%(failed)s failed",
                done=done,
                total=total,
                failed=failed,
            )

    def action_customer_tiering_open_jobs(self):
        """The jobs of this company's current (or last) run."""
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "queue_job.action_queue_job"
        )
        company = self.company_id
        action["domain"] = [
            (
                "identity_key",
                "=like",
                f"{refresh_key(company.id, company.customer_tiering_run_id)}:%",
            )
        ]
        action["context"] = {}
        return action
