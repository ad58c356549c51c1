"""`ingest`: files by glob -> `Document`s with source metadata; bad files are skipped by name.

A corpus usually has a few broken files; one of them must not cost the
others, so each is skipped (unless `strict: true`) and summarised in one log
line (counts by kind, the first few names) and an artifact table. The step's
fingerprint is the matched files' sizes and modification times, so Prefect's
cache skips an unchanged corpus without reading a byte; the glob walk behind it
runs once per run and the step reads the files that walk found (see
`ragline.ingest.discover` for the walk's limits).
"""

from __future__ import annotations

import codecs
import difflib
import hashlib
import os
import threading
from dataclasses import dataclass, field
from encodings.aliases import aliases as encoding_aliases
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator

from ragline.documents import Document
from ragline.errors import ErrorCategory, StepError
from ragline.ingest import FORMATS, FileProblem, discover, read_file
from ragline.ingest.discover import OUTSIDE_ROOTS, SYMLINK_LOOP, Discovery
from ragline.ingest.readers import ReadOptions, UnreadableFile
from ragline.sdk.context import StepContext
from ragline.sdk.step import StepConfig, step

Format = Literal["text", "markdown", "html", "pdf", "json", "jsonl", "csv"]


class IngestConfig(StepConfig):
    """Read files (txt, md, html, pdf, json, jsonl, csv) matched by globs into documents."""

    paths: list[str] = Field(
        min_length=1, description="Globs relative to the workflow file, e.g. docs/**/*.md."
    )
    roots: list[str] | None = Field(
        None, description="Folders files must resolve into; default: the workflow's folder."
    )
    formats: dict[str, Format] = Field(
        default_factory=dict,
        description="Extra extension -> format mappings, e.g. {'.rst': text}.",
    )
    text_field: str = Field(
        "text",
        description="json/jsonl: the field holding the text, or a path to it: `fields.body` "
        "for a nested object, `data[].paragraphs[].context` (SQuAD) where `[]` walks every "
        "item of a list; the nearest `title` on the way is the record's title.",
    )
    id_field: str | None = Field(None, description="json/jsonl/csv: a field with a record id.")
    csv_columns: list[str] | None = Field(
        None, description="csv: columns making up the text (default: all but id_field)."
    )
    encoding: str = Field("utf-8", description="Text encoding of the files.")
    max_file_bytes: int = Field(10_000_000, ge=1, description="Larger files are skipped.")
    max_files: int = Field(10_000, ge=1, description="More matches than this is an error.")
    strict: bool = Field(False, description="Fail on the first unreadable file instead.")

    @field_validator("formats")
    @classmethod
    def _extensions_start_with_a_dot(cls, formats: dict[str, Format]) -> dict[str, Format]:
        for extension in formats:
            if not extension.startswith("."):
                raise ValueError(
                    f"'{extension}' is not a file extension; write it with its dot, "
                    f"e.g. '.{extension}'"
                )
        return formats

    @field_validator("encoding")
    @classmethod
    def _known_encoding(cls, encoding: str) -> str:
        try:
            codecs.lookup(encoding)
        except LookupError:
            known = sorted({*encoding_aliases, *encoding_aliases.values()})
            match = difflib.get_close_matches(encoding.lower().replace("-", "_"), known, n=1)
            hint = f"; did you mean '{match[0]}'?" if match else " (e.g. utf-8, latin-1, cp1252)"
            raise ValueError(f"unknown text encoding '{encoding}'{hint}") from None
        return encoding


def _roots(config: IngestConfig, ctx: StepContext) -> list[Path]:
    return [ctx.resolve_path(r) for r in config.roots] if config.roots else [ctx.workflow_dir]


@dataclass
class _Snapshot:
    """The run's one walk of this step's globs, shared by its cache key and its body."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    discovery: Discovery | None = None


def _discover(config: IngestConfig, ctx: StepContext) -> Discovery:
    """Walk once per run: Prefect computes the cache key, then the step reads the same files."""
    roots = _roots(config, ctx)
    key = (
        "ragline.ingest.discovery",
        ctx.step_id,
        str(ctx.workflow_dir),
        tuple(config.paths),
        tuple(str(r) for r in roots),
        config.max_files,
    )
    snapshot = ctx.services.get_or_create(key, _Snapshot)
    with snapshot.lock:
        if snapshot.discovery is None:
            snapshot.discovery = discover(config.paths, ctx.workflow_dir, roots, config.max_files)
        return snapshot.discovery


def _fingerprint(config: IngestConfig, ctx: StepContext) -> str:
    """Sizes and mtimes of every matched file: a cheap stat, no reads."""
    found = _discover(config, ctx)
    digest = hashlib.sha256()
    for path in found.files:
        try:
            stat = path.stat()
        except OSError:  # gone since the walk: the step will report it
            continue
        digest.update(f"{path}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    for problem in found.problems:
        digest.update(str(problem).encode())
    digest.update(f"over_limit={found.over_limit}".encode())
    return digest.hexdigest()


def _document_id(path: Path, base: Path) -> str:
    try:
        return path.relative_to(base.resolve()).as_posix()
    except ValueError:
        return path.as_posix()


@step("ingest", config=IngestConfig, version="1", fingerprint=_fingerprint)
def ingest(config: IngestConfig, ctx: StepContext) -> list[Document]:
    """Match, check limits, read each file, collect problems, return documents sorted by id."""
    found = _discover(config, ctx)
    files, problems = found.files, list(found.problems)
    if found.over_limit:
        raise StepError(
            f"more than {config.max_files} files match paths {config.paths}, over max_files "
            f"(the walk stopped at file {config.max_files + 1}); narrow the globs or raise "
            "max_files",
            category=ErrorCategory.INPUT,
        )
    if not files and not problems:
        raise StepError(
            f"no files match paths {config.paths} (relative to {ctx.workflow_dir}); "
            "check the globs (use ** for sub-folders)",
            category=ErrorCategory.INPUT,
        )
    formats = {**FORMATS, **{k.lower(): v for k, v in config.formats.items()}}
    options = ReadOptions(config.text_field, config.id_field, config.csv_columns, config.encoding)
    documents: list[Document] = []
    for number, path in enumerate(files, start=1):
        shown = _document_id(path, ctx.workflow_dir)
        problem = _check(path, shown, formats, config.max_file_bytes)
        if problem is not None:
            problems.append(problem)
        else:
            try:
                documents.extend(_read(path, shown, formats[path.suffix.lower()], options))
            except UnreadableFile as exc:
                problems.append(FileProblem(shown, str(exc)))
        ctx.progress(number, len(files), "ingested")
    _report(problems, ctx, strict=config.strict)
    if not documents:
        raise StepError(
            f"none of the {len(files)} matched file(s) could be ingested; see the problems above",
            category=ErrorCategory.INPUT,
        )
    ctx.metrics.update(documents=len(documents), files=len(files), skipped=len(problems))
    return sorted(documents, key=lambda d: d.id)


def _check(path: Path, shown: str, formats: dict[str, str], max_bytes: int) -> FileProblem | None:
    """A problem found without reading the file: its extension or its size."""
    if path.suffix.lower() not in formats:
        return FileProblem(
            shown,
            f"unsupported extension '{path.suffix}' (supported: {', '.join(sorted(formats))}); "
            "map it with `formats:`, e.g. {'.rst': text}",
            UNSUPPORTED,
        )
    try:
        size = path.stat().st_size
    except OSError as exc:
        return FileProblem(shown, f"cannot be read ({exc.strerror}); check its permissions")
    if size > max_bytes:
        return FileProblem(
            shown,
            f"is {size / 1e6:.1f} MB, over max_file_bytes ({max_bytes / 1e6:.1f} MB); "
            "raise max_file_bytes or split the file",
            TOO_LARGE,
        )
    return None


def _read(path: Path, shown: str, fmt: str, options: ReadOptions) -> list[Document]:
    stat = os.stat(path)
    records = read_file(path, fmt, options)
    if not records:
        raise UnreadableFile("contains no text")
    multi = len(records) > 1 or fmt in ("json", "jsonl", "csv")
    return [
        Document(
            id=f"{shown}#{r.key}" if multi and r.key else shown,
            text=r.text,
            source=shown,
            title=r.title,
            format=fmt,
            size=stat.st_size,
            modified=stat.st_mtime,
            content_hash=hashlib.sha256(r.text.encode()).hexdigest(),
            metadata={**r.metadata, "format": fmt},
        )
        for r in records
    ]


UNSUPPORTED = "unsupported"
TOO_LARGE = "too-large"
_KINDS = {
    "unreadable": "unreadable",
    UNSUPPORTED: "unsupported format",
    TOO_LARGE: "over max_file_bytes",
    OUTSIDE_ROOTS: "outside the allowed roots",
    SYMLINK_LOOP: "symlink loop",
}
_NAMES_SHOWN = 5  # per kind, in the log line
_ROWS_SHOWN = 20  # per kind, in the artifact table and a strict error


def summarize(problems: list[FileProblem]) -> str:
    """`5 skipped: 3 unreadable (a.pdf, b.txt, c.md), 2 symlink loop (docs/l1, docs/l2)`."""
    by_kind: dict[str, list[FileProblem]] = {}
    for problem in problems:
        by_kind.setdefault(problem.kind, []).append(problem)
    parts = []
    for kind, items in sorted(by_kind.items(), key=lambda kv: -len(kv[1])):
        names = ", ".join(p.path for p in items[:_NAMES_SHOWN])
        more = ", ..." if len(items) > _NAMES_SHOWN else ""
        parts.append(f"{len(items)} {_KINDS.get(kind, kind)} ({names}{more})")
    return f"{len(problems)} skipped: " + ", ".join(parts)


def _first_of_each_kind(problems: list[FileProblem]) -> list[FileProblem]:
    shown: dict[str, int] = {}
    out = []
    for problem in problems:
        shown[problem.kind] = shown.get(problem.kind, 0) + 1
        if shown[problem.kind] <= _ROWS_SHOWN:
            out.append(problem)
    return out


def _report(problems: list[FileProblem], ctx: StepContext, *, strict: bool) -> None:
    """One log line for all skipped paths (counts by kind, first names), never one per path."""
    if not problems:
        return
    summary = summarize(problems)
    rows = _first_of_each_kind(problems)
    if strict:
        listed = "\n".join(f"  - {p}" for p in rows)
        left = len(problems) - len(rows)
        tail = f"\n  ... and {left} more" if left else ""
        raise StepError(
            f"{len(problems)} file(s) could not be ingested (strict: true):\n{listed}{tail}",
            category=ErrorCategory.INPUT,
        )
    ctx.logger.warning("%s; see the artifact ingest-skipped-files for reasons", summary)
    counts: dict[str, int] = {}
    for problem in problems:
        counts[problem.kind] = counts.get(problem.kind, 0) + 1
    ctx.metrics["skipped_by_kind"] = counts
    ctx.metrics.setdefault("artifacts", []).append(
        {
            "key": "ingest-skipped-files",
            "kind": "table",
            "data": [{"file": p.path, "kind": p.kind, "reason": p.reason} for p in rows],
            "description": f"Step {ctx.step_id}: {summary}"
            + (f" (first {_ROWS_SHOWN} of each kind listed)" if len(rows) < len(problems) else ""),
        }
    )
