import pytest

from algorithms.threads import pin_one_thread

pin_one_thread()


@pytest.fixture
def runs_dir(tmp_path):
    return tmp_path / "runs"


@pytest.fixture(autouse=True)
def user_data(tmp_path_factory, monkeypatch):
    """`speed` and `random` write to the user's data dir: a private one in every test."""
    path = tmp_path_factory.mktemp("pgsuite-data")
    monkeypatch.setenv("PGSUITE_DATA", str(path))
    return path
