"""A package registered with `defer_package_init` imports its submodules without running its
`__init__`, and runs that `__init__` once, complete, when a name is first read from it; and
`import lancedb` then leaves the Lance namespace REST client unbuilt."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from ragline.store.lazy_imports import defer_package_init, init_ran


@pytest.fixture
def package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    name = "ragline_lazy_probe"
    root = tmp_path / name
    (root / "models").mkdir(parents=True)
    (root / "__init__.py").write_text(
        "import sys\n"
        "RUNS = getattr(sys, '_ragline_probe_runs', 0) + 1\n"
        "sys._ragline_probe_runs = RUNS\n"
        "from ragline_lazy_probe.models import Thing\n"
        "from ragline_lazy_probe.api import Api\n"
        "__all__ = ['Api', 'Thing']\n"
    )
    (root / "models" / "__init__.py").write_text("class Thing: ...\n")
    (root / "api.py").write_text("class Api: ...\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    yield name
    for module in [m for m in sys.modules if m == name or m.startswith(f"{name}.")]:
        del sys.modules[module]
    if hasattr(sys, "_ragline_probe_runs"):
        del sys._ragline_probe_runs


def test_submodules_import_without_the_init(package: str) -> None:
    defer_package_init(package)
    from ragline_lazy_probe.models import Thing  # type: ignore[import-not-found]

    assert Thing.__name__ == "Thing"
    assert not init_ran(package)
    assert f"{package}.api" not in sys.modules
    assert not hasattr(sys, "_ragline_probe_runs")


def test_the_first_name_read_runs_the_init_once(package: str) -> None:
    defer_package_init(package)
    import ragline_lazy_probe  # type: ignore[import-not-found]

    with pytest.raises(AttributeError):
        ragline_lazy_probe.__wrapped__  # noqa: B018  (introspection loads nothing)
    assert not init_ran(package)
    from ragline_lazy_probe import Api  # type: ignore[import-not-found]

    assert Api.__name__ == "Api"
    assert init_ran(package)
    assert ragline_lazy_probe.__all__ == ["Api", "Thing"]
    assert ragline_lazy_probe.RUNS == 1
    with pytest.raises(AttributeError):
        ragline_lazy_probe.missing  # noqa: B018  (after the init: the usual error)
    assert sys._ragline_probe_runs == 1  # type: ignore[attr-defined]


def test_an_imported_or_missing_package_is_left_alone(package: str) -> None:
    import ragline_lazy_probe

    defer_package_init(package)
    assert sys.modules[package] is ragline_lazy_probe
    defer_package_init("ragline_no_such_package")
    assert "ragline_no_such_package" not in sys.modules


PROBE = """\
import sys
from ragline.store import open_chunk_table
from ragline.store.lazy_imports import REST_CLIENT, init_ran

table = open_chunk_table(sys.argv[1], "docs")  # imports lancedb
assert "lancedb" in sys.modules
assert not init_ran(REST_CLIENT), "the REST client was built"
assert f"{REST_CLIENT}.api" not in sys.modules
import lancedb
db = lancedb.connect(sys.argv[1])
db.create_table("t", data=[{"id": 1, "vector": [0.1, 0.2]}])
assert db.open_table("t").search([0.1, 0.2]).limit(1).to_list()[0]["id"] == 1
from lance_namespace_urllib3_client import ApiClient, TableApi
assert init_ran(REST_CLIENT) and TableApi.__name__ == "TableApi" and ApiClient
print("ok")
"""


@pytest.mark.integration
def test_lancedb_works_without_building_the_rest_client(tmp_path: Path) -> None:
    # A fresh interpreter: this session may have imported lancedb already.
    result = subprocess.run(
        [sys.executable, "-c", PROBE, str(tmp_path / "db")],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"
