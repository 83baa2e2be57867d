import sys
from pathlib import Path

import pytest

# Let the bench modules import bench/common.py as `common` however pytest is started.
sys.path.insert(0, str(Path(__file__).parent))

import common  # noqa: E402


@pytest.fixture(autouse=True, scope="session")
def _threads():
    common.set_threads(common.THREADS)
