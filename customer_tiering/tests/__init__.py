from . import test_install
from . import test_tiering
from . import test_tier_config
from . import test_health
from . import test_plans
from . import test_tour
from . import test_tier_request
from . import test_account_review_report
