"""`regex-extract`: pull structured fields out of text with a regular expression.

Useful between `generate` and the next step (ids, dates, citations like
`[p1]` out of an answer) without another model call. The pattern is checked
by `ragline validate`, so a broken regex fails before anything runs.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, PositiveInt, field_validator

from ragline.sdk import StepConfig, StepContext, step

Flag = Literal["ignorecase", "multiline", "dotall"]
_FLAGS = {"ignorecase": re.IGNORECASE, "multiline": re.MULTILINE, "dotall": re.DOTALL}


class RegexExtractConfig(StepConfig):
    """Find every match of `pattern` in `text` (one string or a list of strings)."""

    text: str | list[str] = Field(description="The text to search, or a list of texts.")
    pattern: str = Field(description="A Python regular expression; named groups become fields.")
    flags: list[Flag] = Field(default_factory=list, description="ignorecase, multiline, dotall.")
    max_matches: PositiveInt = Field(default=1000, description="Stop after this many matches.")
    unique: bool = Field(
        default=False, description="Keep only the first match of each matched text."
    )

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, value: str) -> str:
        try:
            re.compile(value)
        except re.error as err:
            raise ValueError(f"the pattern does not compile: {err}") from None
        return value


class Match(BaseModel):
    """One match: its text, its named groups, and where it was found."""

    text: str
    groups: dict[str, str | None]
    source: int = Field(description="Index of the text it came from (0 for a single string).")
    start: int
    end: int


class Extraction(BaseModel):
    """Every match, in order of appearance."""

    matches: list[Match]
    count: int
    values: list[str] = Field(description="The matched texts alone, for the next step.")


def check_pattern(
    with_: dict[str, Any], workflow: dict[str, Any], folder: Path
) -> list[tuple[tuple[str | int, ...], str]]:
    """`ragline validate`: a pattern that does not compile is an error at `with.pattern`,
    even when other fields are `${{ }}` expressions only known at run time."""
    pattern = with_.get("pattern")
    if not isinstance(pattern, str) or "${{" in pattern:
        return []
    try:
        re.compile(pattern)
    except re.error as err:
        return [(("pattern",), f"the pattern does not compile: {err}")]
    return []


@step("regex-extract", config=RegexExtractConfig, version="1", check=check_pattern)
def regex_extract(config: RegexExtractConfig, ctx: StepContext) -> Extraction:
    """Extract every match of a regular expression from text, named groups as fields."""
    flags = 0
    for name in config.flags:
        flags |= _FLAGS[name]
    compiled = re.compile(config.pattern, flags)
    texts = [config.text] if isinstance(config.text, str) else config.text
    matches: list[Match] = []
    seen: set[str] = set()
    for source, text in enumerate(texts):
        for m in compiled.finditer(text):
            if config.unique and m.group(0) in seen:
                continue
            seen.add(m.group(0))
            matches.append(
                Match(
                    text=m.group(0),
                    groups=m.groupdict(),
                    source=source,
                    start=m.start(),
                    end=m.end(),
                )
            )
            if len(matches) >= config.max_matches:
                ctx.logger.warning(
                    "regex-extract %s: stopped at max_matches=%d", ctx.step_id, config.max_matches
                )
                return _result(matches)
    return _result(matches)


def _result(matches: list[Match]) -> Extraction:
    return Extraction(matches=matches, count=len(matches), values=[m.text for m in matches])
