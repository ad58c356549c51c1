"""The `ragline` command's front door: where a command runs.

A `ragline run` goes to the warm process of this environment when one serves it
(`ragline.cli.warm`); otherwise it runs here, and a warm process is started for
the next run once this one has ended. Every other command runs here.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

from ragline.cli.main import chosen_command
from ragline.cli.main import main as run_here

# Commands a warm process may serve.
WARM_COMMANDS = ("run",)


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if chosen_command(argv) not in WARM_COMMANDS or "-h" in argv or "--help" in argv:
        return run_here(argv)
    from ragline.cli.warm import client

    env = dict(os.environ)  # as the shell gave it, before this process sets anything
    path = list(sys.path)  # and the import path, before the run adds to it
    if not client.enabled(env):
        return run_here(argv)
    code = client.serve_warm(argv, env, path)
    if code is not None:
        return code
    try:
        return run_here(argv)
    finally:
        client.start(env, path)


if __name__ == "__main__":
    sys.exit(main())
