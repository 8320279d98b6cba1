"""Repository-wide pytest settings.

bin/test sets CUSTOMER_TIERING_STRICT=1: there, a skipped test (an Odoo tour
without Chromium, an HttpCase without --odoo-http...) is a failure, so the
Odoo suite can never be skipped silently.
"""

import os

import pytest


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if os.environ.get("CUSTOMER_TIERING_STRICT") and report.skipped:
        report.outcome = "failed"
        report.longrepr = f"skipped, which bin/test does not allow: {report.longrepr}"
