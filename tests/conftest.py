"""Pure-Python test setup for the tiering engine (no Odoo, no database).

The engine package is loaded straight from its directory under the name
``customer_tiering_engine`` so that the addon's ``__init__`` (which imports
odoo) is never executed.
"""

import importlib.util
import sys
from pathlib import Path

import pytest
from hypothesis import settings

ENGINE_DIR = Path(__file__).resolve().parents[1] / "customer_tiering" / "engine"
PACKAGE = "customer_tiering_engine"

if PACKAGE not in sys.modules:
    _spec = importlib.util.spec_from_file_location(
        PACKAGE,
        ENGINE_DIR / "__init__.py",
        submodule_search_locations=[str(ENGINE_DIR)],
    )
    _module = importlib.util.module_from_spec(_spec)
    sys.modules[PACKAGE] = _module
    _spec.loader.exec_module(_module)

# Keep the repository clean: no .hypothesis example database.
settings.register_profile("engine", database=None, deadline=None)
settings.load_profile("engine")


# When the pytest-odoo plugin is installed it adds autouse fixtures that build
# an Odoo registry (and need a database). These engine tests are pure Python:
# shadow those fixtures with no-ops. Harmless when the plugin is absent.
@pytest.fixture(scope="session", autouse=True)
def load_registry():
    """No Odoo registry for pure engine tests."""
    yield


@pytest.fixture(scope="session", autouse=True)
def load_http():
    """No Odoo HTTP server for pure engine tests."""
    yield


@pytest.fixture(scope="module", autouse=True)
def enable_odoo_test_flag():
    """No Odoo test flag for pure engine tests."""
    yield
