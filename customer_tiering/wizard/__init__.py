from . import customer_tier_override_wizard
from . import customer_tier_request_reject_wizard
