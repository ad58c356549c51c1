"""Which warm process may serve a `ragline run`: only one whose imports a fresh process
would repeat exactly (`ragline.cli.warm.identity`)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from ragline.cli.warm import client, wire
from ragline.cli.warm.identity import warm_key

ENV = {"PATH": "/usr/bin", "PREFECT_HOME": "/tmp/home", "HOME": "/root"}


def key(tmp_path: Path, **changes: str) -> str:
    return warm_key({**ENV, **changes}, str(tmp_path), sys.path)


def test_the_same_environment_and_folder_give_the_same_key(tmp_path: Path) -> None:
    assert key(tmp_path) == key(tmp_path)


@pytest.mark.parametrize(
    "change",
    [
        {"PREFECT_API_URL": "http://127.0.0.1:4200/api"},
        {"PREFECT_LOGGING_LEVEL": "DEBUG"},
        {"OMP_NUM_THREADS": "1"},
        {"PYTHONPATH": "/somewhere/else"},
        {"OPENAI_API_KEY": "sk-other"},
    ],
)
def test_any_other_environment_variable_names_another_process(
    tmp_path: Path, change: dict[str, str]
) -> None:
    assert key(tmp_path, **change) != key(tmp_path)


def test_the_shells_bookkeeping_does_not(tmp_path: Path) -> None:
    assert key(tmp_path, PWD="/a", OLDPWD="/b", _="/usr/bin/ragline", SHLVL="3") == key(tmp_path)


def test_another_folder_names_another_process(tmp_path: Path) -> None:
    other = tmp_path / "other"
    other.mkdir()
    assert warm_key(ENV, str(other), sys.path) != key(tmp_path)


@pytest.mark.parametrize("name", [".env", "prefect.toml", "pyproject.toml"])
def test_a_project_file_prefect_reads_changes_the_key(tmp_path: Path, name: str) -> None:
    before = key(tmp_path)
    (tmp_path / name).write_text("# written\n")
    created = key(tmp_path)
    assert created != before
    os.utime(tmp_path / name, ns=(1, 1))
    assert key(tmp_path) != created


def test_a_changed_prefect_profile_changes_the_key(tmp_path: Path) -> None:
    profiles = tmp_path / "profiles.toml"
    before = key(tmp_path, PREFECT_PROFILES_PATH=str(profiles))
    profiles.write_text('active = "local"\n')
    assert key(tmp_path, PREFECT_PROFILES_PATH=str(profiles)) != before


def test_a_package_installed_into_a_path_folder_changes_the_key(tmp_path: Path) -> None:
    site = tmp_path / "site"
    site.mkdir()
    path = [*sys.path, str(site)]
    before = warm_key(ENV, str(tmp_path), path)
    (site / "new_package-1.0.dist-info").mkdir()
    installed = warm_key(ENV, str(tmp_path), path)
    assert installed != before
    os.utime(site / "new_package-1.0.dist-info", ns=(3, 3))  # reinstalled, same version
    assert warm_key(ENV, str(tmp_path), path) != installed


def test_editing_a_plugin_module_on_the_path_keeps_the_key(tmp_path: Path) -> None:
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    (plugins / "my_steps.py").write_text("VERSION = 1\n")
    path = [*sys.path, str(plugins)]
    before = warm_key(ENV, str(tmp_path), path)
    (plugins / "my_steps.py.tmp").write_text("VERSION = 2\n")  # an editor's save by rename
    os.replace(plugins / "my_steps.py.tmp", plugins / "my_steps.py")
    (plugins / "__pycache__").mkdir()
    assert warm_key(ENV, str(tmp_path), path) == before


def test_warm_runs_can_be_turned_off() -> None:
    assert client.enabled({}) == sys.platform.startswith("linux")
    for off in ("0", "false", "off", "no"):
        assert not client.enabled({"RAGLINE_WARM": off})


def test_a_deep_prefect_home_gets_a_short_private_socket_path(tmp_path: Path) -> None:
    assert wire.socket_path(tmp_path, "k" * 20).parent == wire.folder(tmp_path)
    deep = tmp_path / ("d" * 120)
    path = wire.socket_path(deep, "k" * 20)
    assert wire.usable(path)
    assert wire.private_folder(path.parent)
    assert path != wire.socket_path(tmp_path / ("e" * 120), "k" * 20)  # one per Prefect home
