"""Under CI (the environment variable CI set, as .ci/run does) a skipped test is a failure.

A test that skips when its data or an optional extra is missing (the Last.fm play counts,
`implicit`, `dask`) would otherwise leave CI green without ever running; `make` installs every
extra, so in CI a skip means something is missing.
"""

from __future__ import annotations

import os

import pytest


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.skipped and os.environ.get("CI") and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = "failed"
        report.longrepr = f"skipped under CI, where every test must run: {reason}"
