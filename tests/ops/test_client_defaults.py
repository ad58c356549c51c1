"""Prefect client settings for runs on the local server: defaults a user's setting beats."""

from __future__ import annotations

import time

from prefect.settings import get_current_settings
from prefect.settings.context import temporary_settings

from ragline.ops.local_server import ServerState, client_defaults


def _state(csrf: bool | None) -> ServerState:
    return ServerState(
        pid=1, port=1, prefect_version="3", started_at=time.time(), idle_timeout=None,
        csrf_protection=csrf,
    )  # fmt: skip


def test_heartbeats_and_the_second_version_check_are_off_by_default() -> None:
    with temporary_settings(set_defaults=client_defaults(_state(False))):  # type: ignore[arg-type]
        settings = get_current_settings()
        assert settings.flows.heartbeat_frequency is None
        assert settings.client.server_version_check_enabled is False
        assert settings.client.csrf_support_enabled is False


def test_a_value_the_user_set_wins() -> None:
    user = {"flows.heartbeat_frequency": 60, "client.server_version_check_enabled": True}
    defaults = client_defaults(_state(False))
    with (
        temporary_settings(updates=user),  # type: ignore[arg-type]
        temporary_settings(set_defaults=defaults),  # type: ignore[arg-type]
    ):
        settings = get_current_settings()
        assert settings.flows.heartbeat_frequency == 60
        assert settings.client.server_version_check_enabled is True


def test_csrf_support_stays_on_unless_the_server_recorded_it_off() -> None:
    assert "client.csrf_support_enabled" not in client_defaults(_state(None))
    assert "client.csrf_support_enabled" not in client_defaults(_state(True))
    assert client_defaults(_state(False))["client.csrf_support_enabled"] is False
