"""A server with an API auth string: without the credential a request is refused (401);
the CLI and a worker given PREFECT_API_AUTH_STRING in their environment work."""

from __future__ import annotations

import urllib.error
import urllib.request
from pathlib import Path

import pytest
from ops_support import Cli, greet_workflow, own_server, run_on_a_worker

pytestmark = pytest.mark.slow

CREDENTIAL = "ragline-admin:correct-horse-battery"


def test_an_authenticated_server_refuses_strangers_and_serves_the_cli_and_worker(
    tmp_path: Path, cli: Cli
) -> None:
    home = tmp_path / "prefect"
    with own_server(home, {"PREFECT_SERVER_API_AUTH_STRING": CREDENTIAL}) as url:
        request = urllib.request.Request(f"{url}/flows/filter", data=b"{}", method="POST")
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=5)
        assert refused.value.code == 401

        workflow = greet_workflow(tmp_path, "ops-auth")
        stranger = {"PREFECT_API_URL": url, "PREFECT_HOME": str(home)}
        denied = cli("deploy", str(workflow), env=stranger)
        assert denied.returncode == 2
        assert f"the Prefect API at {url} refused our credentials (HTTP 401)" in denied.stderr
        assert "set PREFECT_API_AUTH_STRING" in denied.stderr
        assert CREDENTIAL not in denied.stderr

        member = {**stranger, "PREFECT_API_AUTH_STRING": CREDENTIAL}
        run = run_on_a_worker(workflow, cli, member, pool="ragline-auth")
        assert run.state.is_completed(), run.state
        assert run.parameters == {"times": 2}
