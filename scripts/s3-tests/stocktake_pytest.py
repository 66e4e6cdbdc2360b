"""A pytest plugin for running Ceph's s3-tests against Stocktake (scripts/s3-tests.sh loads it).

- Ends any test that runs longer than S3TESTS_TIMEOUT seconds (default 60) with a failure, so a
  hang cannot stop the run (SIGALRM; the suite runs in one thread).
- Deselects the tests that wait on RGW's `lc_debug_interval`, which turns a lifecycle day into
  seconds: on S3 they would wait for days. The other lifecycle tests (rules refused, the
  x-amz-expiration header) describe S3 as it is and run.
- Deselects the tests that name an RGW tenant (a bucket namespace per tenant, which S3 does not
  have): those whose source calls `get_tenant_name()`, addresses a bucket as `:<bucket>` (the
  global tenant), or names the tenant `s3tenant...` in a policy. Tests that use the tenant's
  credentials only as a third account are kept. S3TESTS_KEEP_TENANTS=1 keeps them all.
- Prints passed, failed, error and skipped counts by feature (the test's pytest markers, its
  fails_on_* markers aside; "general" when it has none), and writes every outcome with its
  markers and first error line to S3TESTS_RESULTS (JSON) for docs/conformance.md.
"""
import collections
import inspect
import json
import os
import re
import signal

import pytest

TIMEOUT = int(os.environ.get("S3TESTS_TIMEOUT", "60"))
RESULTS = os.environ.get("S3TESTS_RESULTS")
_outcomes = {}


class TestTimedOut(Exception):
    pass


def _alarm(signum, frame):
    raise TestTimedOut(f"no answer within {TIMEOUT} s")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item):
    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(TIMEOUT)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def _waits_lifecycle_days(item):
    try:
        return "get_lc_debug_interval" in inspect.getsource(item.function)
    except (OSError, TypeError):
        return False


_NAMES_A_TENANT = re.compile(r'get_tenant_name\(|s3tenant|":\{\}"\.format\(')


def _names_a_tenant(item):
    if os.environ.get("S3TESTS_KEEP_TENANTS") == "1":
        return False
    try:
        return _NAMES_A_TENANT.search(inspect.getsource(item.function)) is not None
    except (OSError, TypeError):
        return False


def pytest_collection_modifyitems(config, items):
    left_out = [item for item in items if _waits_lifecycle_days(item) or _names_a_tenant(item)]
    if left_out:
        config.hook.pytest_deselected(items=left_out)
        items[:] = [item for item in items if item not in left_out]


def _features(item):
    names = sorted({m.name for m in item.iter_markers() if not m.name.startswith("fails_") and m.name != "parametrize"})
    return names or ["general"]


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    previous = _outcomes.get(item.nodeid)
    if report.when == "call" or report.failed or report.skipped:
        if report.when == "call":
            state = "passed" if report.passed else "skipped" if report.skipped else "failed"
        elif report.skipped:
            state = "skipped"
        else:
            state = "error"
        if previous is None or previous["outcome"] == "passed":
            message = ""
            if report.longrepr is not None and not report.passed:
                text = getattr(report.longrepr, "reprcrash", None)
                message = text.message if text is not None else str(report.longrepr)
            _outcomes[item.nodeid] = {
                "test": item.name,
                "outcome": state,
                "features": _features(item),
                "message": message.strip().split("\n")[0][:300],
            }


def pytest_terminal_summary(terminalreporter):
    by_feature = collections.defaultdict(collections.Counter)
    total = collections.Counter()
    for result in _outcomes.values():
        total[result["outcome"]] += 1
        for feature in result["features"]:
            by_feature[feature][result["outcome"]] += 1
    write = terminalreporter.write_line
    write("")
    server = "moto" if os.environ.get("S3TESTS_MOTO") else "Stocktake"
    write(f"s3-tests against {server}, by feature (a test counts under each of its markers)")
    write(f"{'feature':28} {'passed':>7} {'failed':>7} {'error':>7} {'skipped':>8}")
    for feature in sorted(by_feature):
        c = by_feature[feature]
        write(f"{feature:28} {c['passed']:7} {c['failed']:7} {c['error']:7} {c['skipped']:8}")
    run = total["passed"] + total["failed"] + total["error"]
    rate = 100.0 * total["passed"] / run if run else 0.0
    write(f"{'all':28} {total['passed']:7} {total['failed']:7} {total['error']:7} {total['skipped']:8}   pass rate {rate:.1f}% of {run} run")
    if RESULTS:
        with open(RESULTS, "w") as out:
            json.dump(sorted(_outcomes.values(), key=lambda r: r["test"]), out, indent=1)
