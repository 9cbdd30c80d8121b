"""Test-wide settings: fake AWS credentials, no tracing, and the shared fixtures."""

import os

os.environ.update(
    {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_METRICS_NAMESPACE": "smsdrop-test",
        "POWERTOOLS_SERVICE_NAME": "smsdrop",
    }
)

pytest_plugins = ["tests.fixtures.aws", "tests.fixtures.gateway", "tests.fixtures.jobs"]


def pytest_collection_modifyitems(items: list) -> None:
    """The slow scenarios first, the reliability ones (the longest) before the rest: make test's workers take whole
    files in this order, so the longest files start early instead of leaving one worker busy alone at the end."""
    items.sort(key=lambda item: (item.get_closest_marker("slow") is None, "/reliability/" not in item.nodeid))
