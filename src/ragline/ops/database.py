"""Check the Prefect server's database before starting it.

`prefect server start` with an unreachable PostgreSQL prints a long asyncpg
traceback and retries; a user wants one line: which host refused, which
database, and what to do.
"""

from __future__ import annotations

import asyncio
from urllib.parse import urlsplit

from ragline.errors import ConfigError


def database_url() -> str | None:
    from prefect.settings import get_current_settings

    secret = get_current_settings().server.database.connection_url
    return secret.get_secret_value() if secret is not None else None


def describe_url(url: str) -> str:
    """`postgresql+asyncpg://user:pw@host:5432/db` -> `host:5432/db` (never the password)."""
    parts = urlsplit(url)
    host = parts.hostname or "localhost"
    port = parts.port or 5432
    return f"{host}:{port}{parts.path or ''}"


async def _connect(url: str, timeout: float) -> None:
    import asyncpg  # type: ignore[import-untyped]

    dsn = url.replace("postgresql+asyncpg://", "postgresql://", 1)
    conn = await asyncpg.connect(dsn=dsn, timeout=timeout)
    await conn.close()


def check_postgres(url: str, *, timeout: float = 5.0) -> None:
    """ConfigError naming host, port and database when PostgreSQL refuses or is missing."""
    where = describe_url(url)
    try:
        asyncio.run(_connect(url, timeout))
    except (OSError, TimeoutError) as err:
        raise ConfigError(
            f"PostgreSQL at {where} refused the connection ({err.strerror or err}); "
            "the Prefect server was not started",
            hint="start PostgreSQL or fix PREFECT_API_DATABASE_CONNECTION_URL "
            "(postgresql+asyncpg://USER:PASSWORD@HOST:5432/DATABASE)",
        ) from None
    except Exception as err:  # asyncpg's errors: unknown database, bad password, ...
        raise ConfigError(
            f"PostgreSQL at {where} did not accept the connection: {err}; "
            "the Prefect server was not started",
            hint="create the database (createdb -h HOST -U USER DATABASE) or fix the "
            "user and password in PREFECT_API_DATABASE_CONNECTION_URL",
        ) from None
