"""Which files a step's `paths:` name, limited to its allowed roots.

Globs are relative to the workflow file's folder; a match that resolves
outside every root (through `..` or a symlink) is refused, so a workflow can
never read beyond the folders it was given.
"""

from __future__ import annotations

import glob
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class FileProblem:
    """One file that was not ingested, and why."""

    path: str
    reason: str

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}"


def _inside(path: Path, roots: list[Path]) -> bool:
    return any(path == root or root in path.parents for root in roots)


def discover(
    patterns: list[str], base: Path, roots: list[Path]
) -> tuple[list[Path], list[FileProblem]]:
    """Files matched by the glob patterns (recursive `**`), sorted, each at most once."""
    resolved_roots = [r.resolve() for r in roots]
    found: dict[Path, None] = {}
    problems: list[FileProblem] = []
    for pattern in patterns:
        full = pattern if Path(pattern).is_absolute() else str(base / pattern)
        for name in sorted(glob.glob(full, recursive=True)):
            path = Path(name)
            if not path.is_file():
                continue
            real = path.resolve()
            if not _inside(real, resolved_roots):
                shown = ", ".join(str(r) for r in resolved_roots)
                problems.append(
                    FileProblem(
                        name,
                        f"resolves to {real}, outside the allowed roots ({shown}); "
                        "move the file under a root or add its folder to `roots:`",
                    )
                )
                continue
            found.setdefault(real)
    return sorted(found), problems
