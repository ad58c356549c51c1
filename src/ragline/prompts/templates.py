"""Prompt templates: a Jinja file with front matter, or an inline string.

A file starts with an optional front-matter block that carries its version:

    ---
    version: 3
    description: Answer from the contexts, with citations.
    ---
    <|system|>
    ...

The version is what a person bumps; the content hash is what the run records
to prove which text produced a prompt. Line numbers in errors are lines of the
file (front matter included).

A template file is confined: its path, after `~`, `..` and symlinks are
resolved, must lie inside the allowed roots (the workflow's folder, or the
prompt step's `roots:`), like the files `ingest` reads. Templates it includes
come through a loader confined to the same roots (prompts/render.py).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ragline.errors import ConfigError

TEMPLATE_SUFFIXES = (".j2", ".jinja", ".jinja2")


@dataclass(frozen=True)
class Template:
    """A template's source and identity."""

    name: str
    body: str
    version: str = ""
    description: str = ""
    line_offset: int = 0
    path: Path | None = None
    front_matter: dict[str, Any] = field(default_factory=dict)
    roots: tuple[Path, ...] = ()  # where `{% include %}` and friends may read from

    @property
    def content_hash(self) -> str:
        return "sha256:" + hashlib.sha256(self.body.encode()).hexdigest()[:16]

    def file_line(self, body_line: int) -> int:
        """The line in the file of a line of the body (1-based)."""
        return body_line + self.line_offset


def split_front_matter(text: str, name: str) -> tuple[dict[str, Any], str, int]:
    """(front matter, body, number of lines before the body)."""
    if not text.startswith("---"):
        return {}, text, 0
    lines = text.splitlines(keepends=True)
    for i in range(1, len(lines)):
        if lines[i].strip() == "---":
            try:
                meta = yaml.safe_load("".join(lines[1:i])) or {}
            except yaml.YAMLError as exc:
                raise ConfigError(f"{name}: front matter is not valid YAML: {exc}") from None
            if not isinstance(meta, dict):
                raise ConfigError(
                    f"{name}: front matter must be a mapping (version: ..., description: ...)"
                )
            return meta, "".join(lines[i + 1 :]), i + 1
    raise ConfigError(
        f"{name}: front matter opened with '---' on line 1 is never closed",
        hint="end it with a line containing only '---'",
    )


def template_roots(workflow_dir: Path, roots: list[str] | None = None) -> tuple[Path, ...]:
    """Real paths of the folders templates may come from (default: the workflow's folder)."""
    base = Path(workflow_dir)
    folders = [base / Path(r).expanduser() for r in roots] if roots else [base]
    return tuple(f.resolve() for f in folders)


def inside(path: Path, roots: tuple[Path, ...]) -> bool:
    return any(path == root or root in path.parents for root in roots)


def confine(name: str, workflow_dir: Path, roots: tuple[Path, ...]) -> Path:
    """The real path of template `name`, which must resolve inside one of the roots."""
    given = Path(name).expanduser()
    real = (given if given.is_absolute() else Path(workflow_dir) / given).resolve()
    if not inside(real, roots):
        here = Path(workflow_dir).resolve()
        shown = ", ".join("the workflow's folder" if r == here else str(r) for r in roots)
        raise ConfigError(
            f"prompt template {name} resolves to {real}, outside the allowed roots ({shown})",
            hint="keep templates under the workflow's folder, or add their folder to the "
            "prompt step's `roots:`",
        )
    return real


def load_confined(name: str, workflow_dir: Path, roots: tuple[Path, ...] | None = None) -> Template:
    """Load template file `name` (relative to the workflow's folder) from inside the roots."""
    allowed = roots if roots is not None else template_roots(workflow_dir)
    return load_template(confine(name, workflow_dir, allowed), name, roots=allowed)


def load_template(
    path: Path, display: str | None = None, *, roots: tuple[Path, ...] = ()
) -> Template:
    """Read a template file; `roots` are where its includes may come from (none: no includes)."""
    name = display or str(path)
    try:
        if path.exists() and not path.is_file():
            raise ConfigError(f"prompt template {name} is not a regular file")
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            f"prompt template {name} does not exist",
            hint="paths are relative to the workflow file's folder",
        ) from None
    meta, body, offset = split_front_matter(text, name)
    version = meta.get("version")
    return Template(
        name=name,
        body=body,
        version="" if version is None else str(version),
        description=str(meta.get("description", "")),
        line_offset=offset,
        path=path,
        front_matter=meta,
        roots=roots,
    )


def inline_template(text: str, name: str = "<inline>", roots: tuple[Path, ...] = ()) -> Template:
    return Template(name=name, body=text, version="inline", roots=roots)


def find_templates(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.suffix in TEMPLATE_SUFFIXES and p.is_file())
