"""Which files a step's `paths:` name: one bounded walk, never outside the allowed roots.

Globs are relative to the workflow file's folder (`**` matches any depth; `*`,
`?` and `[...]` one name; like `glob`, only a pattern part starting with `.`
matches hidden names). The walk starts at each pattern's fixed part and:

- never enters a folder that resolves outside every root, unless the folder
  lies on the way down to a root (`../../**/*` walks only towards the roots);
  a file that resolves outside the roots is refused by name;
- follows a symlink only to a place inside the roots, and never into a folder
  it is already inside (`docs/l1 -> .` is reported as a loop, not walked);
- stops as soon as it has found more than `max_files` files.

Whatever it did not take is returned as `FileProblem`s with a `kind`, so the
step can summarise them (counts by kind plus the first few names).
"""

from __future__ import annotations

import fnmatch
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

OUTSIDE_ROOTS = "outside-roots"
SYMLINK_LOOP = "symlink-loop"

_MAGIC = re.compile(r"[*?[]")

# A folder to walk: its path as matched, its real path, the pattern state there,
# and the identities (device, inode) of the real folders above it on this walk.
_Folder = tuple[str, Path, frozenset[int], tuple[tuple[int, int], ...]]


@dataclass(frozen=True)
class FileProblem:
    """One file (or folder, or pattern) that was not ingested, and why."""

    path: str
    reason: str
    kind: str = "unreadable"

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}"


@dataclass
class Discovery:
    """What one walk found: files (resolved, sorted, unique) and what it refused."""

    files: list[Path] = field(default_factory=list)
    problems: list[FileProblem] = field(default_factory=list)
    over_limit: bool = False  # the walk stopped: more than max_files files match


@dataclass(frozen=True)
class _Roots:
    roots: tuple[Path, ...]

    def holds(self, path: Path) -> bool:
        return any(path == r or r in path.parents for r in self.roots)

    def leads_to(self, path: Path) -> bool:
        """`path` is a folder above a root: walking through it can reach the root."""
        return any(path in r.parents for r in self.roots)

    def __str__(self) -> str:
        return ", ".join(str(r) for r in self.roots)


class _Pattern:
    """A glob split into segments, matched one path name at a time (a small NFA).

    A state is the set of segment indices still to match; `**` may match zero or
    more names, so a state holding it also holds the index after it.
    """

    def __init__(self, segments: tuple[str, ...]) -> None:
        self.segments = segments
        self.end = len(segments)
        self.matchers: list[Callable[[str], bool] | None] = [
            None if s == "**" else self._matcher(s) for s in segments
        ]
        self.start = self._closure({0})

    @staticmethod
    def _matcher(segment: str) -> Callable[[str], bool]:
        if not _MAGIC.search(segment):
            return segment.__eq__
        regex = re.compile(fnmatch.translate(segment))
        hidden_ok = segment.startswith(".")
        return lambda name: (hidden_ok or not name.startswith(".")) and bool(regex.match(name))

    def _closure(self, state: set[int]) -> frozenset[int]:
        todo = list(state)
        while todo:
            i = todo.pop()
            if i < self.end and self.matchers[i] is None and i + 1 not in state:
                state.add(i + 1)
                todo.append(i + 1)
        return frozenset(state)

    def step(self, state: frozenset[int], name: str) -> frozenset[int]:
        after: set[int] = set()
        for i in state:
            if i == self.end:
                continue
            matcher = self.matchers[i]
            if matcher is None:
                if not name.startswith("."):
                    after.add(i)
            elif matcher(name):
                after.add(i + 1)
        return self._closure(after) if after else frozenset()


def _split(pattern: str, base: Path) -> tuple[Path, _Pattern]:
    """The fixed folder a pattern starts from, and the rest of it as segments."""
    full = os.path.abspath(os.path.join(base, os.path.expanduser(pattern)))
    parts = Path(full).parts
    fixed = 1  # the filesystem root
    while fixed < len(parts) - 1 and not _MAGIC.search(parts[fixed]):
        fixed += 1
    return Path(*parts[:fixed]), _Pattern(parts[fixed:])


class _Walk:
    def __init__(self, base: Path, roots: _Roots, max_files: int | None) -> None:
        self.base = base
        self.roots = roots
        self.max_files = max_files
        self.found: dict[Path, None] = {}
        self.reported: set[tuple[str, str]] = set()
        self.result = Discovery()

    def shown(self, path: str) -> str:
        return os.path.relpath(path, self.base)

    def report(self, problem: FileProblem) -> None:
        """Once per path and kind, however many patterns reach it."""
        if (problem.path, problem.kind) not in self.reported:
            self.reported.add((problem.path, problem.kind))
            self.result.problems.append(problem)

    def refuse(self, path: str, real: Path, what: str) -> None:
        self.report(
            FileProblem(
                self.shown(path),
                f"{what} resolves to {real}, outside the allowed roots ({self.roots}); "
                "move it under a root or add its folder to `roots:`",
                OUTSIDE_ROOTS,
            )
        )

    def pattern(self, text: str) -> bool:
        """Walk one pattern; False once the file limit is passed."""
        start, pattern = _split(text, self.base)
        if not start.is_dir():
            return True
        real = start.resolve()
        if not (self.roots.holds(real) or self.roots.leads_to(real)):
            self.report(
                FileProblem(
                    text,
                    f"starts at {real}, outside the allowed roots ({self.roots}); "
                    "write the glob from inside a root, or add the folder to `roots:`",
                    OUTSIDE_ROOTS,
                )
            )
            return True
        key = (real.stat().st_dev, real.stat().st_ino)
        stack: list[_Folder] = [(str(start), real, pattern.start, (key,))]
        seen = {(key, pattern.start)}
        while stack:
            below = self.folder(stack.pop(), pattern, seen)
            if below is None:
                return False
            stack.extend(reversed(below))
        return True

    def folder(
        self, at: _Folder, pattern: _Pattern, seen: set[tuple[tuple[int, int], frozenset[int]]]
    ) -> list[_Folder] | None:
        """Keep the matching files of one folder; the folders to walk next (None: limit passed)."""
        folder, real_folder, state, ancestors = at
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError:
            return []
        below: list[_Folder] = []
        for entry in entries:
            after = pattern.step(state, entry.name)
            kind = _kind(entry) if after else None
            if kind is None:
                continue
            is_dir, is_file, key = kind
            link = entry.is_symlink()
            real = Path(os.path.realpath(entry.path)) if link else real_folder / entry.name
            if is_file and pattern.end in after:
                if not self.file(entry.path, real):
                    return None
            elif (
                is_dir
                and after - {pattern.end}
                and self.may_enter(entry.path, real, link, key, ancestors)
                and (key, after) not in seen
            ):
                seen.add((key, after))
                below.append((entry.path, real, after, (*ancestors, key)))
        return below

    def file(self, path: str, real: Path) -> bool:
        """Keep a matched file (once, inside the roots); False once the limit is passed."""
        if not self.roots.holds(real):
            self.refuse(path, real, "the file")
        elif real not in self.found:
            self.found[real] = None
            if self.max_files is not None and len(self.found) > self.max_files:
                return False
        return True

    def may_enter(
        self,
        path: str,
        real: Path,
        link: bool,
        key: tuple[int, int],
        ancestors: tuple[tuple[int, int], ...],
    ) -> bool:
        """A folder is entered inside the roots (or on the way to one), never around a loop."""
        inside = self.roots.holds(real)
        if not inside and not self.roots.leads_to(real):
            self.refuse(path, real, "the folder (not entered)")
            return False
        if not inside and link:
            self.refuse(path, real, "the symlinked folder (not entered)")
            return False
        if key in ancestors:
            self.report(
                FileProblem(
                    self.shown(path),
                    f"symlink loop: leads back to {real}, a folder this walk is "
                    "already inside; not followed",
                    SYMLINK_LOOP,
                )
            )
            return False
        return True


def _kind(entry: os.DirEntry[str]) -> tuple[bool, bool, tuple[int, int]] | None:
    """(is a folder, is a file, the folder's identity); None when it cannot be read."""
    try:
        is_dir = entry.is_dir()
        is_file = not is_dir and entry.is_file()
        return is_dir, is_file, _identity(entry) if is_dir else (0, 0)
    except OSError:
        return None


def _identity(entry: os.DirEntry[str]) -> tuple[int, int]:
    st = entry.stat()  # follows a symlink: the identity of the folder it leads to
    return st.st_dev, st.st_ino


def discover(
    patterns: list[str], base: Path, roots: list[Path], max_files: int | None = None
) -> Discovery:
    """Files matched by the glob patterns, each at most once, in one walk per pattern."""
    walk = _Walk(Path(os.path.abspath(base)), _Roots(tuple(r.resolve() for r in roots)), max_files)
    for pattern in patterns:
        if not walk.pattern(pattern):
            walk.result.over_limit = True
            break
    walk.result.files = sorted(walk.found)
    return walk.result
