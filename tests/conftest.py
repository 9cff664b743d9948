import pytest

from algorithms.threads import pin_one_thread

pin_one_thread()


@pytest.fixture
def runs_dir(tmp_path):
    return tmp_path / "runs"
