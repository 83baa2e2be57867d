import os
import sys
from pathlib import Path

import pytest

# Let the bench modules import bench/common.py as `common` however pytest is started.
sys.path.insert(0, str(Path(__file__).parent))

import common  # noqa: E402

# Seconds pytest-benchmark spends on one benchmark unless --benchmark-max-time says otherwise
# (its own default, 1 s, makes a full suite take many minutes).
DEFAULT_MAX_TIME = 0.5


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config):
    # tryfirst: before pytest-benchmark reads its options in its own pytest_configure.
    given = list(config.invocation_params.args) + os.environ.get("PYTEST_ADDOPTS", "").split()
    if hasattr(config.option, "benchmark_max_time") and not any(
            arg.startswith("--benchmark-max-time") for arg in given):
        config.option.benchmark_max_time = DEFAULT_MAX_TIME


@pytest.fixture(autouse=True, scope="session")
def _threads():
    common.set_threads(common.THREADS)
