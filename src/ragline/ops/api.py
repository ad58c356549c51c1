"""Which Prefect API a command talks to, and a fast check that it answers.

Prefect's own client retries a refused connection for many seconds and then
raises an httpx error that never names the URL. Commands that need a server
ask here first, with a short timeout, so the user reads which URL failed and
what to do before anything is created on it.
"""

from __future__ import annotations

import base64
import os
import tomllib
import urllib.error
import urllib.request
from pathlib import Path

from ragline.errors import ConfigError

START_HINT = "start one with `ragline server` (or `prefect server start`) and set PREFECT_API_URL"


def configured_api_url() -> str | None:
    """PREFECT_API_URL from the environment or the active Prefect profile; None = ephemeral."""
    from prefect.settings import get_current_settings

    url = get_current_settings().api.url
    return str(url).rstrip("/") if url else None


def api_url_without_prefect() -> tuple[bool, str | None]:
    """PREFECT_API_URL from the environment or the active profile, without importing Prefect.

    (True, url or None) when those decide; (False, None) when a project file in the
    working directory (.env, prefect.toml, pyproject.toml [tool.prefect]) may set it:
    then only Prefect's own settings know (`configured_api_url`).
    """
    env = os.environ.get("PREFECT_API_URL", "").strip()
    if env:
        return True, env.rstrip("/")
    cwd = Path.cwd()
    if (cwd / ".env").exists() or (cwd / "prefect.toml").exists():
        return False, None
    try:
        if "[tool.prefect" in (cwd / "pyproject.toml").read_text(errors="replace"):
            return False, None
    except OSError:
        pass
    home = Path(os.environ.get("PREFECT_HOME") or "~/.prefect").expanduser()
    path = Path(os.environ.get("PREFECT_PROFILES_PATH") or home / "profiles.toml").expanduser()
    try:
        profiles = tomllib.loads(path.read_text())
    except FileNotFoundError:
        return True, None
    except (OSError, ValueError):
        return False, None
    active = os.environ.get("PREFECT_PROFILE") or profiles.get("active") or "ephemeral"
    url = str(profiles.get("profiles", {}).get(active, {}).get("PREFECT_API_URL") or "").strip()
    return True, url.rstrip("/") or None


def _auth_header() -> dict[str, str]:
    from prefect.settings import get_current_settings

    secret = get_current_settings().api.auth_string
    value = secret.get_secret_value() if secret is not None else None
    if not value:
        return {}
    token = base64.b64encode(value.encode("utf-8")).decode("ascii")
    return {"Authorization": f"Basic {token}"}


def auth_header() -> dict[str, str]:
    """The Authorization header Prefect's client would send (empty without an auth string)."""
    return _auth_header()


def _get(url: str, timeout: float) -> int:
    request = urllib.request.Request(url, headers=_auth_header())
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return int(response.status)
    except urllib.error.HTTPError as err:
        return int(err.code)


def require_api(
    purpose: str, *, timeout: float = 5.0, consequence: str = "nothing was changed"
) -> str:
    """The API URL, once it answers and accepts our credentials; ConfigError otherwise."""
    url = configured_api_url()
    if url is None:
        raise ConfigError(
            f"{purpose} needs a Prefect server, but PREFECT_API_URL is not set "
            "(`ragline run` then uses the local server of this Prefect home, which keeps no "
            "schedules)",
            hint=START_HINT,
        )
    try:
        health = _get(f"{url}/health", timeout)
    except (OSError, ValueError) as err:
        reason = getattr(err, "reason", err)
        raise ConfigError(
            f"the Prefect API at {url} is not reachable ({reason}); {consequence}",
            hint=f"check PREFECT_API_URL, or {START_HINT}",
        ) from None
    if health >= 500:
        raise ConfigError(
            f"the Prefect API at {url} answered /health with HTTP {health}: the server is "
            f"up but not working (is its database reachable?); {consequence}",
            hint="read the server's log",
        )
    status = _get(f"{url}/admin/version", timeout)
    if status == 401:
        raise ConfigError(
            f"the Prefect API at {url} refused our credentials (HTTP 401); {consequence}",
            hint="set PREFECT_API_AUTH_STRING to the server's PREFECT_SERVER_API_AUTH_STRING",
        )
    return url
