"""`ingest`: files by glob -> `Document`s with source metadata; bad files are skipped by name.

A corpus usually has a few broken files; one of them must not cost the
others, so each problem is logged with its path and reason, published as an
artifact, and skipped (unless `strict: true`). The step's fingerprint is the
matched files' sizes and modification times, so Prefect's cache skips an
unchanged corpus without reading a byte.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Literal

from pydantic import Field

from ragline.documents import Document
from ragline.errors import ErrorCategory, StepError
from ragline.ingest import FORMATS, FileProblem, discover, read_file
from ragline.ingest.readers import ReadOptions, UnreadableFile
from ragline.steps.base import StepConfig, step
from ragline.steps.context import StepContext

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


def _roots(config: IngestConfig, ctx: StepContext) -> list[Path]:
    return [ctx.resolve_path(r) for r in config.roots] if config.roots else [ctx.workflow_dir]


def _fingerprint(config: IngestConfig, ctx: StepContext) -> str:
    """Sizes and mtimes of every matched file: a cheap stat, no reads."""
    files, problems = discover(config.paths, ctx.workflow_dir, _roots(config, ctx))
    digest = hashlib.sha256()
    for path in files:
        stat = path.stat()
        digest.update(f"{path}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    for problem in problems:
        digest.update(str(problem).encode())
    return digest.hexdigest()


def _document_id(path: Path, base: Path) -> str:
    try:
        return path.relative_to(base.resolve()).as_posix()
    except ValueError:
        return path.as_posix()


@step("ingest", config=IngestConfig, version="1", fingerprint=_fingerprint)
def ingest(config: IngestConfig, ctx: StepContext) -> list[Document]:
    """Match, check limits, read each file, collect problems, return documents sorted by id."""
    files, problems = discover(config.paths, ctx.workflow_dir, _roots(config, ctx))
    if not files and not problems:
        raise StepError(
            f"no files match paths {config.paths} (relative to {ctx.workflow_dir}); "
            "check the globs (use ** for sub-folders)",
            category=ErrorCategory.INPUT,
        )
    if len(files) > config.max_files:
        raise StepError(
            f"{len(files)} files match paths {config.paths}, over max_files "
            f"({config.max_files}); narrow the globs or raise max_files",
            category=ErrorCategory.INPUT,
        )
    formats = {**FORMATS, **{k.lower(): v for k, v in config.formats.items()}}
    options = ReadOptions(config.text_field, config.id_field, config.csv_columns, config.encoding)
    documents: list[Document] = []
    for number, path in enumerate(files, start=1):
        shown = _document_id(path, ctx.workflow_dir)
        try:
            documents.extend(_read(path, shown, formats, options, config.max_file_bytes))
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


def _read(
    path: Path, shown: str, formats: dict[str, str], options: ReadOptions, max_bytes: int
) -> list[Document]:
    fmt = formats.get(path.suffix.lower())
    if fmt is None:
        raise UnreadableFile(
            f"unsupported extension '{path.suffix}' (supported: {', '.join(sorted(formats))}); "
            "map it with `formats:`, e.g. {'.rst': text}"
        )
    stat = os.stat(path)
    if stat.st_size > max_bytes:
        raise UnreadableFile(
            f"is {stat.st_size / 1e6:.1f} MB, over max_file_bytes ({max_bytes / 1e6:.1f} MB); "
            "raise max_file_bytes or split the file"
        )
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


def _report(problems: list[FileProblem], ctx: StepContext, *, strict: bool) -> None:
    if not problems:
        return
    for problem in problems:
        ctx.logger.warning("skipped %s", problem)
    if strict:
        listed = "\n".join(f"  - {p}" for p in problems)
        raise StepError(
            f"{len(problems)} file(s) could not be ingested (strict: true):\n{listed}",
            category=ErrorCategory.INPUT,
        )
    ctx.metrics.setdefault("artifacts", []).append(
        {
            "key": "ingest-skipped-files",
            "kind": "table",
            "data": [{"file": p.path, "reason": p.reason} for p in problems],
            "description": f"Files step {ctx.step_id} skipped, and why",
        }
    )
