"""`ragline`: argparse front door; each subcommand lives in its own module.

argparse (not typer/rich) keeps `ragline --help` and `ragline validate` far
below half a second: nothing here imports prefect, litellm or torch.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import os
import sys
from collections.abc import Sequence

from ragline import __version__
from ragline.errors import ConfigError, ParameterError, RaglineError, StepError, WorkflowError

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2

# subcommand -> module under ragline.cli providing add_arguments(parser) and run(args) -> int
COMMANDS: dict[str, tuple[str, str]] = {
    "validate": (
        "validate",
        "Check workflow files: YAML, schema and references, every problem at once.",
    ),
    "run": ("run", "Run a workflow as a Prefect flow."),
    "graph": ("graph", "Print a workflow's steps as a Mermaid flowchart."),
    "schema": ("schema", "Write (or --check) the JSON Schemas in schemas/."),
    "steps": ("steps", "List the registered step types and their config fields."),
}

# Other teams' subcommands register here by module name; missing modules are skipped.
OPTIONAL_COMMANDS: dict[str, tuple[str, str]] = {
    "prompts": ("prompts", "List prompt templates, their versions and the variables they need."),
    "deploy": ("deploy", "Turn each workflow's schedule into a Prefect deployment."),
    "serve": ("serve", "Serve the workflows' schedules from this process (no work pool)."),
    "runs": ("runs", "List recent runs with state, duration, tokens and cost."),
    "server": ("server", "Start a local Prefect server with its UI."),
    "doctor": ("doctor", "Check that what a run needs is reachable and configured."),
    "test": ("test", "Run a model test suite (cases with assertions)."),
    "eval": ("eval", "Compare stored evaluation scores between runs."),
}


def _module_exists(name: str) -> bool:
    return importlib.util.find_spec(f"ragline.cli.{name}") is not None


def chosen_command(argv: Sequence[str]) -> str | None:
    """The subcommand named on the command line (the first word that is not an option)."""
    return next((arg for arg in argv if not arg.startswith("-")), None)


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The parser; only the chosen subcommand's module is imported (its arguments are added).

    Every other subcommand is listed with its help line alone: importing all of them would
    put their imports (the workflow model, the spec loader, ...) in front of every command.
    With `argv` None every subcommand gets its arguments (for docs and tests).
    """
    chosen = chosen_command(argv) if argv is not None else None
    parser = argparse.ArgumentParser(
        prog="ragline",
        description="Declarative YAML workflows for generative-AI pipelines, run as Prefect flows.",
    )
    parser.add_argument("--version", action="version", version=f"ragline {__version__}")
    parser.add_argument("--debug", action="store_true", help="show Python tracebacks for errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module, help_text) in {**COMMANDS, **OPTIONAL_COMMANDS}.items():
        if name in OPTIONAL_COMMANDS and not _module_exists(module):
            continue
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.add_argument(
            "--debug", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS
        )
        p.set_defaults(_module=module)
        if argv is None or name == chosen:
            importlib.import_module(f"ragline.cli.{module}").add_arguments(p)
    return parser


def report_error(err: BaseException) -> int:
    """Print a user error without a traceback; return its exit code."""
    if isinstance(err, WorkflowError):
        print(err.render(), file=sys.stderr)
        return EXIT_USAGE
    if isinstance(err, ParameterError):
        print(f"error: {err}", file=sys.stderr)
        return EXIT_USAGE
    if isinstance(err, StepError):
        print(f"error: {err}", file=sys.stderr)
        return EXIT_USAGE if err.category == "input" and err.step_id == "(inputs)" else EXIT_FAILED
    if isinstance(err, ConfigError):
        print(f"error: {err}", file=sys.stderr)
        return EXIT_USAGE
    print(f"error: {err}", file=sys.stderr)
    return EXIT_FAILED


def main(argv: Sequence[str] | None = None) -> int:
    """Run one `ragline` command in this process (`ragline.cli.entry` decides where)."""
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(argv)
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help()
        return EXIT_USAGE
    from ragline.ops.local_server import quiet_prefect

    quiet_prefect()  # before any command imports Prefect: no analytics, unless the user set them
    debug = bool(getattr(args, "debug", False)) or os.environ.get("RAGLINE_DEBUG") == "1"
    args.debug = debug
    module = importlib.import_module(f"ragline.cli.{args._module}")
    try:
        return int(module.run(args))
    except RaglineError as err:
        if debug:
            raise
        return report_error(err)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
