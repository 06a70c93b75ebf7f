import pytest

from dsl import cachedir
from interpreter.waterfall import c_emit, c_run, c_unit  # noqa: F401
from interpreter.native import build as cbuild


@pytest.fixture
def fresh(monkeypatch):
    """This process as if it had not met the cache folder yet (its warnings,
    sweeps, timed-out sources and deal libraries)."""
    monkeypatch.setattr(cachedir, "_warned", set())
    monkeypatch.setattr(cachedir, "_swept", set())
    monkeypatch.setattr(cbuild, "_failed", {})
    monkeypatch.setattr(c_run, "_kernels", {})
    # an index names only a library in its own folder: the deal libraries this
    # process loaded from the session's folder are forgotten
    monkeypatch.setattr(cbuild, "_loaded", {k: v for k, v in cbuild._loaded.items() if "deal-" not in v._name})
