"""Which warm process may serve a command: one whose imports a fresh process would repeat.

The warm process imported Prefect, lancedb and ragline under one environment;
Prefect read its settings and set up its logging then. A fresh `ragline run`
would do the same under the caller's environment. The two agree when everything
those imports read agrees, so the key covers all of it, and a change to any part
names another warm process rather than a stale one:

- the interpreter, `sys.path`, and the installed distributions in each `sys.path`
  folder (the `*.dist-info`, `*.egg-info`, `*.pth` entries, with their modification
  times: a `pip install`, upgrade or uninstall changes them). Not the folders' other
  contents: a plugin module on `PYTHONPATH` is imported fresh by every run anyway, and
  its edits (or a new `__pycache__`) must not cost a warm process;
- ragline's own sources (name, size, modification time of every file in the
  package: an editable install being edited);
- the whole environment except the shell's bookkeeping (`PWD`, `OLDPWD`, `_`,
  `SHLVL`), the working directory, and the files Prefect reads there and in its
  home (`.env`, `prefect.toml`, `pyproject.toml`, `profiles.toml`).

Stdlib only, about 2 ms: the client computes it on every `ragline run`.
"""

from __future__ import annotations

import hashlib
import os
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path

SHELL_BOOKKEEPING = frozenset({"PWD", "OLDPWD", "_", "SHLVL"})
PROJECT_FILES = (".env", "prefect.toml", "pyproject.toml")


def _stat_line(path: Path) -> str:
    try:
        st = path.stat()
    except OSError:
        return f"{path}:-"
    return f"{path}:{st.st_mtime_ns}:{st.st_size}"


INSTALL_RECORDS = (".dist-info", ".egg-info", ".egg-link", ".pth")


def _installed(folder: str) -> Iterable[str]:
    """What is installed into one `sys.path` folder (names and modification times)."""
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError:
        return
    for entry in entries:
        if entry.name.endswith(INSTALL_RECORDS):
            try:
                yield f"{entry.path}:{entry.stat().st_mtime_ns}"
            except OSError:
                continue


def _package_files(root: Path) -> Iterable[str]:
    """Every file under ragline's package folder, with size and modification time."""
    stack = [root]
    while stack:
        folder = stack.pop()
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError:
            continue
        for entry in entries:
            if entry.is_dir(follow_symlinks=False):
                if entry.name != "__pycache__":
                    stack.append(Path(entry.path))
            elif entry.name.endswith((".py", ".json", ".yaml", ".typed")):
                st = entry.stat()
                yield f"{entry.path}:{st.st_mtime_ns}:{st.st_size}"


def _prefect_profiles(env: Mapping[str, str]) -> Path:
    explicit = env.get("PREFECT_PROFILES_PATH")
    if explicit:
        return Path(explicit).expanduser()
    return Path(env.get("PREFECT_HOME") or "~/.prefect").expanduser() / "profiles.toml"


def warm_key(env: Mapping[str, str], cwd: str, path: Iterable[str]) -> str:
    """A short hash of everything a warm process's imports depend on (see the module)."""
    import ragline

    digest = hashlib.sha256()
    path = list(path)
    parts: list[str] = [sys.executable, sys.version, cwd, *path]
    for entry in path:
        parts += _installed(entry or cwd)
    parts += sorted(f"{k}={v}" for k, v in env.items() if k not in SHELL_BOOKKEEPING)
    parts += [_stat_line(Path(cwd) / name) for name in PROJECT_FILES]
    parts.append(_stat_line(_prefect_profiles(env)))
    parts += _package_files(Path(ragline.__file__).parent)
    for part in parts:
        digest.update(part.encode("utf-8", "surrogateescape"))
        digest.update(b"\0")
    return digest.hexdigest()[:20]
