from . import customer_tier_override_wizard
