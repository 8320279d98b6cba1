from . import customer_profile
from . import res_config_settings
