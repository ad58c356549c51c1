"""schemas/suite.schema.json is current, and every shipped suite names and passes it."""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from jsonschema import Draft202012Validator

from ragline.suites.schema import render

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = ROOT / "schemas" / "suite.schema.json"


def test_the_checked_in_suite_schema_is_current() -> None:
    assert SCHEMA.read_text() == render(), "run `ragline schema` and commit"


def test_shipped_suites_name_the_schema_and_are_valid_against_it() -> None:
    validator = Draft202012Validator(json.loads(SCHEMA.read_text()))
    for path in sorted((ROOT / "workflows" / "suites").glob("*.suite.yaml")):
        text = path.read_text()
        assert text.splitlines()[0] == (
            "# yaml-language-server: $schema=../../schemas/suite.schema.json"
        ), path
        assert [e.message for e in validator.iter_errors(yaml.safe_load(text))] == [], path


def test_the_schema_types_each_assertion_by_its_keys() -> None:
    validator = Draft202012Validator(json.loads(SCHEMA.read_text()))
    case = {"inputs": {}, "assert": [{"type": "similar-to", "value": "x", "treshold": 0.5}]}
    assert list(validator.iter_errors({"workflow": "w.yaml", "cases": [case]}))
    case["assert"] = [{"type": "similar-to", "value": "x", "threshold": 0.5}]
    assert not list(validator.iter_errors({"workflow": "w.yaml", "cases": [case]}))
