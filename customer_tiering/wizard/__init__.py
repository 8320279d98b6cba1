from . import customer_tier_override_wizard
from . import customer_tier_request_reject_wizard
from . import base_partner_merge_automatic_wizard
