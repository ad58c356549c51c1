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


def light_setting(name: str) -> tuple[bool, str | None]:
    """A Prefect setting from the environment or the active profile, without importing Prefect.

    (True, value or None) when those decide; (False, None) when a project file in the
    working directory (.env, prefect.toml, pyproject.toml [tool.prefect]) may set it:
    then only Prefect's own settings know.
    """
    env = os.environ.get(name, "").strip()
    if env:
        return True, env
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
    value = str(profiles.get("profiles", {}).get(active, {}).get(name) or "").strip()
    return True, value or None


def api_url_without_prefect() -> tuple[bool, str | None]:
    """PREFECT_API_URL as `light_setting` finds it (no trailing slash)."""
    known, url = light_setting("PREFECT_API_URL")
    return known, url.rstrip("/") if url else None


def auth_header_without_prefect() -> dict[str, str] | None:
    """The header `auth_header` would give, or None when only Prefect's settings know it."""
    known_auth, auth = light_setting("PREFECT_API_AUTH_STRING")
    known_key, key = light_setting("PREFECT_API_KEY")
    if not (known_auth and known_key):
        return None
    if auth:
        return {"Authorization": "Basic " + base64.b64encode(auth.encode()).decode("ascii")}
    return {"Authorization": f"Bearer {key}"} if key else {}


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


def _get(url: str, timeout: float, headers: dict[str, str] | None = None) -> int:
    request = urllib.request.Request(url, headers=_auth_header() if headers is None else headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return int(response.status)
    except urllib.error.HTTPError as err:
        return int(err.code)


def require_api(
    purpose: str,
    *,
    timeout: float = 5.0,
    consequence: str = "nothing was changed",
    url: str | None = None,
    headers: dict[str, str] | None = None,
) -> str:
    """The API URL, once it answers and accepts our credentials; ConfigError otherwise.

    `url` and `headers` default to Prefect's settings (which imports Prefect).
    """
    url = url or configured_api_url()
    if url is None:
        raise ConfigError(
            f"{purpose} needs a Prefect server, but PREFECT_API_URL is not set "
            "(`ragline run` then uses the local server of this Prefect home, which keeps no "
            "schedules)",
            hint=START_HINT,
        )
    try:
        health = _get(f"{url}/health", timeout, headers)
        status = _get(f"{url}/admin/version", timeout, headers) if health < 500 else 0
    except TimeoutError:
        # Connected, but no answer within the timeout: a busy server, not a missing one
        # (urllib reports a connect timeout as URLError). Prefect's client waits and retries.
        return url
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
    if status == 401:
        raise ConfigError(
            f"the Prefect API at {url} refused our credentials (HTTP 401); {consequence}",
            hint="set PREFECT_API_AUTH_STRING to the server's PREFECT_SERVER_API_AUTH_STRING",
        )
    return url
