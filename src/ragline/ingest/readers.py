"""One reader per file format; each returns records (text, title, key, metadata).

Readers raise `UnreadableFile` with a message for the user (what is wrong and
how to fix it); the `ingest` step turns that into a per-file problem and goes
on with the other files.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

FORMATS = {
    ".txt": "text",
    ".text": "text",
    ".md": "markdown",
    ".markdown": "markdown",
    ".html": "html",
    ".htm": "html",
    ".pdf": "pdf",
    ".json": "json",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".csv": "csv",
}


class UnreadableFile(Exception):
    """The file cannot be ingested; the message says why and what to do."""


@dataclass
class Record:
    text: str
    title: str | None = None
    key: str | None = None  # record id inside a json/jsonl/csv file
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ReadOptions:
    text_field: str = "text"
    id_field: str | None = None
    csv_columns: list[str] | None = None
    encoding: str = "utf-8"


def _decode(data: bytes, options: ReadOptions) -> str:
    if b"\x00" in data[:8192]:
        raise UnreadableFile(
            "looks binary (contains NUL bytes), not text: remove it or give it its real extension"
        )
    try:
        return data.decode(options.encoding)
    except UnicodeDecodeError as exc:
        raise UnreadableFile(
            f"is not valid {options.encoding} (byte {exc.start}: "
            f"{data[exc.start : exc.start + 1]!r}): re-save it as UTF-8, "
            "or set `encoding:` to the file's encoding"
        ) from None


def _read_text(data: bytes, path: Path, options: ReadOptions) -> list[Record]:
    return [Record(_decode(data, options), path.stem)]


_HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$", re.MULTILINE)


def _read_markdown(data: bytes, path: Path, options: ReadOptions) -> list[Record]:
    text = _decode(data, options)
    first = _HEADING.search(text)
    return [Record(text, first.group(1) if first else path.stem)]


def _read_html(data: bytes, path: Path, options: ReadOptions) -> list[Record]:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(_decode(data, options), "html.parser")
    for tag in soup(["script", "style", "noscript", "template", "iframe", "svg"]):
        tag.decompose()
    title_tag = soup.title or soup.find("h1")
    title = title_tag.get_text(" ", strip=True) if title_tag else path.stem
    body = soup.body or soup
    lines = (line.strip() for line in body.get_text("\n").splitlines())
    text = re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
    return [Record(text, title or path.stem)]


def _read_pdf(data: bytes, path: Path, options: ReadOptions) -> list[Record]:
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    try:
        reader = PdfReader(io.BytesIO(data))
        pages = [page.extract_text() or "" for page in reader.pages]
        meta = reader.metadata
        title = str(meta.title) if meta is not None and meta.title else path.stem
    except PyPdfError as exc:
        if type(exc).__name__ == "LimitReachedError":  # pypdf's limits, e.g. 75 MB inflated
            raise UnreadableFile(
                f"inflates past pypdf's decompression limit ({exc}): a compressed stream "
                "decompresses to more than pypdf allows (a decompression bomb, or a huge "
                "scan); extract its text with another tool and ingest that"
            ) from None
        raise UnreadableFile(
            f"could not be parsed as PDF ({exc}); check that it opens in a PDF viewer "
            "or export it again"
        ) from None
    except (ValueError, KeyError, TypeError, OSError) as exc:
        raise UnreadableFile(
            f"could not be parsed as PDF ({exc}); check that it opens in a PDF viewer "
            "or export it again"
        ) from None
    return [
        Record(
            "\n\n".join(p.strip() for p in pages if p.strip()),
            title,
            metadata={"pages": len(pages)},
        )
    ]


def _parse_path(text_field: str) -> list[tuple[str, bool]]:
    """`data[].paragraphs[].context` -> [(data, True), (paragraphs, True), (context, False)].

    A segment ending in `[]` is a list whose items are each walked; the last
    segment names the text. A plain key (`text`) is a path of one segment.
    """
    parts = text_field.split(".")
    return [(part.removesuffix("[]"), part.endswith("[]")) for part in parts]


def _objects_at(
    obj: Any, path: list[tuple[str, bool]], where: str, inherited: str | None = None
) -> list[tuple[dict[str, Any], str, str, str | None]]:
    """(object holding the text field, where, position suffix, nearest title) per text."""
    if not isinstance(obj, dict):
        raise UnreadableFile(f"{where}: expected an object, found {type(obj).__name__}")
    title = obj.get("title") if isinstance(obj.get("title"), str) else inherited
    key, is_list = path[0]
    if len(path) == 1:
        return [(obj, where, "", title)]
    if key not in obj:
        fields = ", ".join(sorted(obj)) or "none"
        raise UnreadableFile(
            f"{where}: no field '{key}' (fields: {fields}); "
            "set `text_field:` to the path of the text, e.g. data[].paragraphs[].context"
        )
    value = obj[key]
    if not is_list:
        return _objects_at(value, path[1:], f"{where}.{key}", title)
    if not isinstance(value, list):
        raise UnreadableFile(
            f"{where}.{key}: expected a list (the path says '{key}[]'), "
            f"found {type(value).__name__}"
        )
    found: list[tuple[dict[str, Any], str, str, str | None]] = []
    for i, item in enumerate(value):
        for inner, inner_where, suffix, inner_title in _objects_at(
            item, path[1:], f"{where}.{key}[{i}]", title
        ):
            found.append((inner, inner_where, f".{i}{suffix}", inner_title))
    return found


def _records_from_object(
    obj: Any, where: str, options: ReadOptions, path: Path, position: int
) -> list[Record]:
    """One record per text the `text_field` path reaches in `obj` (one for a plain key)."""
    steps = _parse_path(options.text_field)
    text_key = steps[-1][0]
    records = []
    for inner, inner_where, suffix, title in _objects_at(obj, steps, where):
        if text_key not in inner:
            fields = ", ".join(sorted(inner)) or "none"
            raise UnreadableFile(
                f"{inner_where}: no field '{text_key}' (fields: {fields}); "
                "set `text_field:` to the field holding the text"
            )
        records.append(
            _record_from_object(inner, text_key, title, options, path, f"{position}{suffix}")
        )
    return records


def _record_from_object(
    obj: dict[str, Any],
    text_key: str,
    title: str | None,
    options: ReadOptions,
    path: Path,
    position: str,
) -> Record:
    key = str(obj[options.id_field]) if options.id_field and options.id_field in obj else None
    meta = {k: v for k, v in obj.items() if k != text_key and _scalar(v)}
    if title is not None:
        meta["title"] = title  # the record's own title: embedded and indexed (store/fields.py)
    return Record(
        str(obj[text_key]),
        title or f"{path.stem} #{position}",
        key or position,
        meta,
    )


def _scalar(value: Any) -> bool:
    return isinstance(value, (str, int, float, bool)) or value is None


def _read_json(data: bytes, path: Path, options: ReadOptions) -> list[Record]:
    text = _decode(data, options)
    try:
        parsed = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UnreadableFile(
            f"line {exc.lineno} col {exc.colno}: invalid JSON ({exc.msg})"
        ) from None
    items = parsed if isinstance(parsed, list) else [parsed]
    return [
        record
        for i, obj in enumerate(items)
        for record in _records_from_object(obj, f"item {i}", options, path, i)
    ]


def _read_jsonl(data: bytes, path: Path, options: ReadOptions) -> list[Record]:
    records = []
    for number, line in enumerate(_decode(data, options).splitlines(), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise UnreadableFile(
                f"line {number} col {exc.colno}: invalid JSON ({exc.msg})"
            ) from None
        records.extend(_records_from_object(obj, f"line {number}", options, path, number))
    return records


def _read_csv(data: bytes, path: Path, options: ReadOptions) -> list[Record]:
    reader = csv.DictReader(io.StringIO(_decode(data, options)))
    header = reader.fieldnames or []
    columns = options.csv_columns or [c for c in header if c != options.id_field]
    unknown = [c for c in columns if c not in header]
    if unknown:
        raise UnreadableFile(
            f"no column(s) {', '.join(unknown)} (columns: {', '.join(header)}); fix `csv_columns:`"
        )
    records = []
    for number, row in enumerate(reader, start=2):
        parts = [f"{c}: {row[c]}" if len(columns) > 1 else (row[c] or "") for c in columns]
        key = row.get(options.id_field) if options.id_field else None
        meta = {c: row[c] for c in header if c not in columns}
        records.append(
            Record("\n".join(parts), f"{path.stem} row {number}", key or str(number), meta)
        )
    return records


READERS: dict[str, Callable[[bytes, Path, ReadOptions], list[Record]]] = {
    "text": _read_text,
    "markdown": _read_markdown,
    "html": _read_html,
    "pdf": _read_pdf,
    "json": _read_json,
    "jsonl": _read_jsonl,
    "csv": _read_csv,
}


def read_file(path: Path, fmt: str, options: ReadOptions) -> list[Record]:
    """Records of one file; `UnreadableFile` when it cannot be ingested."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise UnreadableFile(f"cannot be read ({exc.strerror}); check its permissions") from None
    if not data.strip():
        raise UnreadableFile("is empty (0 bytes or only whitespace); nothing to ingest")
    records = READERS[fmt](data, path, options)
    return [r for r in records if r.text.strip()]
