"""The argparse front door builds only the chosen subcommand's arguments (the others'
modules and their imports stay unloaded), and still lists and helps every command."""

from __future__ import annotations

import pytest

from ragline.cli.main import COMMANDS, build_parser, main


def _subparsers(parser):  # type: ignore[no-untyped-def]
    (action,) = [a for a in parser._actions if a.dest == "command"]
    return action.choices


def test_only_the_chosen_subcommand_gets_its_arguments() -> None:
    parser = build_parser(["--debug", "validate", "x.yaml"])
    subs = _subparsers(parser)
    assert set(COMMANDS) <= set(subs)
    assert any(a.dest == "paths" or a.dest == "path" for a in subs["validate"]._actions)
    assert [a.dest for a in subs["run"]._actions] == ["help", "debug"]  # not built
    args = parser.parse_args(["--debug", "validate", "x.yaml"])
    assert args._module == "validate"


def test_help_lists_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    for name in COMMANDS:
        assert name in out


def test_a_subcommand_help_shows_its_own_options(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["run", "--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    assert "-p KEY=VALUE" in out and "--json" in out


def test_an_unknown_subcommand_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["rnu", "x.yaml"])
    assert exit_.value.code == 2
    assert "invalid choice: 'rnu'" in capsys.readouterr().err


def test_without_argv_every_subcommand_is_built() -> None:
    subs = _subparsers(build_parser())
    assert any(a.dest == "path" for a in subs["run"]._actions)
