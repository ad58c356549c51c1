"""Bad suite files through the real `ragline test`: exit 2, file:line:col, a did-you-mean,
every problem in one pass, and nothing run (no Prefect server needed)."""

from __future__ import annotations

from pathlib import Path

import pytest

ECHO = """\
apiVersion: ragline/v1
name: echo
inputs:
  question: {type: string}
steps:
  - id: answer
    uses: value
    with: {value: "${{ inputs.question }}"}
outputs:
  answer: "${{ steps.answer.output }}"
"""

ONE = "cases: [{inputs: {question: a}, assert: [{type: equals, value: a}]}]\n"


def _suite(tmp_path: Path, text: str) -> Path:
    (tmp_path / "echo.yaml").write_text(ECHO)
    path = tmp_path / "echo.suite.yaml"
    path.write_text(text)
    return path


def _errors(tmp_path: Path, cli, text: str) -> str:  # type: ignore[no-untyped-def]
    _suite(tmp_path, text)
    result = cli("test", "echo.suite.yaml", cwd=tmp_path)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""
    return str(result.stderr)


def test_unknown_assertion_type_and_key_each_get_a_suggestion(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    err = _errors(
        tmp_path,
        cli,
        """\
workflow: echo.yaml
cases:
  - name: hello
    inputs: {question: hi}
    assert:
      - {type: contain, value: hi}
      - {type: similar-to, value: hello, treshold: 0.5}
""",
    )
    assert "echo.suite.yaml:6:16  cases[0].assert[0].type\n" in err
    assert "unknown assertion type 'contain'; did you mean 'contains'?" in err
    assert "echo.suite.yaml:7:42  cases[0].assert[1].treshold\n" in err
    assert "unknown key 'treshold'; did you mean 'threshold'?" in err
    assert err.rstrip().endswith("2 problems in echo.suite.yaml")


def test_every_problem_is_reported_in_one_pass(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    err = _errors(
        tmp_path,
        cli,
        """\
workflow: echo.yaml
concurency: 2
cases:
  - name: one
    inputs: {questoin: hi}
    assert:
      - {type: regex, value: "(unclosed"}
      - {type: max-latency-ms, value: -5}
  - name: two
    inputs: {question: hi}
""",
    )
    assert "echo.suite.yaml:2:1" in err and "did you mean 'concurrency'?" in err
    assert "'questoin' is not an input of echo; did you mean 'question'?" in err
    assert "echo.suite.yaml:7:30  cases[0].assert[0].value" in err
    assert "invalid regular expression" in err
    assert "cases[0].assert[1].value" in err and "greater than 0" in err
    assert "case 'two' has no assertions, so it could never fail" in err
    assert "missing input 'question' (string) of echo: add it to the case's inputs" in err
    assert "6 problems in echo.suite.yaml" in err


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("workflow: echo.yaml\n", "the suite has no cases"),
        (
            "workflow: nowhere.yaml\n" + ONE,
            "echo.suite.yaml:1:11  workflow\n  no workflow file 'nowhere.yaml'",
        ),
        (
            "cases: [{inputs: {question: a}, assert: [{type: equals, value: a}]}]\n",
            "set exactly one of `workflow:`, `workflows:` or `models:` (found: none)",
        ),
        (
            "workflow: echo.yaml\ncases: [{inputs: {question: a}, assert: [{value: a}]}]\n",
            "missing required key 'type' (one of contains, equals,",
        ),
        (
            "workflow: echo.yaml\n"
            "cases: [{inputs: {question: a}, assert: [{type: llm-rubric, value: polite}]}]\n",
            "llm-rubric needs a judge: set `model:` here or `defaults.judge:`",
        ),
        (
            "workflow: echo.yaml\ndefaults: {judge: jduge}\n"
            "deployments: {judge: [{model: local/extractive}]}\n" + ONE,
            "unknown judge alias 'jduge'; did you mean 'judge'?",
        ),
        (
            "workflow: echo.yaml\ncases: [{inputs: {}, assert: [{type: equals, value: a}]}]\n",
            "missing input 'question' (string) of echo: add it to the case's inputs",
        ),
        (
            "workflow: echo.yaml\n"
            "cases: [{inputs: {question: a}, output: answr, assert: [{type: equals, value: a}]}]\n",
            "'answr' is not an output of echo; did you mean 'answer'?",
        ),
        (
            "models: [small]\ndeployments: {small: [{model: local/extractive}]}\n"
            "cases: [{inputs: {question: a}, assert: [{type: equals, value: a}]}]\n",
            "`models:` needs `prompt:` (an inline Jinja prompt)",
        ),
        (
            "workflow: echo.yaml\n"
            "cases: [{inputs: {question: a},\n"
            "  assert: [{type: json-schema, value: {type: strnig}}]}]\n",
            "not a valid JSON Schema",
        ),
        ("workflow: echo.yaml\ncases: [{inputs: {question: a}, assert: [\n", "invalid YAML"),
    ],
)
def test_config_errors_exit_2_with_a_message(tmp_path: Path, cli, text: str, message: str) -> None:  # type: ignore[no-untyped-def]
    assert message in _errors(tmp_path, cli, text)


def test_an_invalid_target_workflow_reports_its_own_file(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "broken.yaml").write_text(ECHO.replace("uses: value", "uses: valeu"))
    _suite(
        tmp_path,
        "workflow: broken.yaml\n" + ONE,
    )
    result = cli("test", "echo.suite.yaml", cwd=tmp_path)
    assert result.returncode == 2
    assert "broken.yaml:7:11  steps[0].uses" in result.stderr
    assert "unknown step type 'valeu'" in result.stderr


def test_a_missing_suite_file_is_a_config_error(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    result = cli("test", "none.suite.yaml", cwd=tmp_path)
    assert result.returncode == 2
    assert "no such file 'none.suite.yaml'" in result.stderr


def test_concurrency_must_be_a_positive_number(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    _suite(tmp_path, "workflow: echo.yaml\n" + ONE)
    result = cli("test", "echo.suite.yaml", "--concurrency", "0", cwd=tmp_path)
    assert result.returncode == 2
    assert "--concurrency: expected a whole number of at least 1, got '0'" in result.stderr


def test_aliases_in_default_assertions_are_checked_too(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    err = _errors(
        tmp_path,
        cli,
        """\
workflow: echo.yaml
deployments:
  embedder: [{model: local/all-MiniLM-L6-v2}]
defaults:
  assert:
    - {type: similar-to, value: hello, model: embeder}
    - {type: llm-rubric, value: polite}
cases:
  - inputs: {question: hi}
""",
    )
    assert "echo.suite.yaml:6:47  defaults.assert[0].model" in err
    assert "unknown model alias 'embeder'; did you mean 'embedder'?" in err
    assert "echo.suite.yaml:7:7   defaults.assert[1]" in err
    assert "2 problems in echo.suite.yaml" in err


def test_a_prompt_variable_no_case_sets_is_reported_at_the_prompt(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    err = _errors(
        tmp_path,
        cli,
        """\
models: [small]
prompt: "Answer: {{ questoin }}"
deployments:
  small: [{model: local/extractive}]
cases:
  - inputs: {question: "What?"}
    assert: [{type: contains, value: x}]
""",
    )
    assert "echo.suite.yaml:2:9  prompt\n" in err
    assert "the prompt uses 'questoin', which no case sets in `inputs:`; did you mean" in err


def test_k_selects_cases_by_name_and_an_unmatched_pattern_is_an_error(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    _suite(
        tmp_path,
        """\
workflow: echo.yaml
cases:
  - {name: greets, inputs: {question: hi}, assert: [{type: equals, value: hi}]}
  - {name: Shouts, inputs: {question: HI}, assert: [{type: equals, value: HI}]}
""",
    )
    listed = cli("test", "echo.suite.yaml", "--list", "-k", "shout", cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout == "echo  Shouts  (equals)\n"
    missing = cli("test", "echo.suite.yaml", "-k", "whisper", cwd=tmp_path)
    assert missing.returncode == 2
    assert "error: no case name contains 'whisper' (cases: 'greets', 'Shouts')" in missing.stderr


def test_a_report_path_that_is_a_directory_is_refused_before_running(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    _suite(tmp_path, "workflow: echo.yaml\n" + ONE)
    (tmp_path / "out").mkdir()
    result = cli("test", "echo.suite.yaml", "--junit", "out", cwd=tmp_path)
    assert result.returncode == 2
    assert "error: 'out' is a directory; name a file to write" in result.stderr
