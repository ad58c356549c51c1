"""The checks behind `ragline doctor`: what a run needs, tried for real, with short timeouts.

Each check returns a `Check` (ok / warn / fail, what was checked, what to do).
Nothing here prints a secret: a secret check says only whether the value is
there, and URLs lose their passwords before they are shown.
"""

from __future__ import annotations

import os
import shutil
import socket
import time
import urllib.parse
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, Literal

from ragline.spec.model import Deployment, StoreSpec, Workflow

Status = Literal["ok", "warn", "fail"]
TIMEOUT_S = 3.0
LOW_DISK = 1 << 30
NO_DISK = 100 << 20
LOCAL_PROVIDER = "local/"


@dataclass
class Check:
    status: Status
    name: str
    detail: str
    hint: str | None = None

    def as_dict(self) -> dict[str, str | None]:
        return dict(self.__dict__)


def redact_url(url: str) -> str:
    """The URL without its password (user names stay: they help and are not secret)."""
    parts = urllib.parse.urlsplit(url)
    if parts.password is None:
        return url
    netloc = f"{parts.username}:***@{parts.hostname}" + (f":{parts.port}" if parts.port else "")
    return urllib.parse.urlunsplit(parts._replace(netloc=netloc))


def _elapsed_ms(started: float) -> str:
    return f"{(time.perf_counter() - started) * 1000:.0f} ms"


# -- Prefect --------------------------------------------------------------------------------


def check_prefect_api() -> Check:
    """The API runs report to: reachable and healthy, or the ephemeral default."""
    from prefect.settings import get_current_settings

    api = get_current_settings().api
    if not api.url:
        return Check(
            "ok",
            "prefect api",
            "not set: each run starts a temporary local server (runs are not kept)",
            "set PREFECT_API_URL (e.g. `ragline server`, then http://127.0.0.1:4200/api) "
            "to keep runs and see them in the UI",
        )
    url = str(api.url).rstrip("/")
    headers = {}
    if api.key:
        headers["Authorization"] = f"Bearer {api.key.get_secret_value()}"
    elif api.auth_string:
        import base64

        token = base64.b64encode(api.auth_string.get_secret_value().encode()).decode()
        headers["Authorization"] = f"Basic {token}"
    import httpx

    started = time.perf_counter()
    try:
        response = httpx.get(f"{url}/health", headers=headers, timeout=TIMEOUT_S)
    except httpx.HTTPError as err:
        return Check(
            "fail",
            "prefect api",
            f"{redact_url(url)} cannot be reached ({type(err).__name__}: {err})",
            "start the server (`ragline server` or `prefect server start`) or fix PREFECT_API_URL",
        )
    if response.status_code in (401, 403):
        return Check(
            "fail",
            "prefect api",
            f"{redact_url(url)} refused the credentials (HTTP {response.status_code})",
            "set PREFECT_API_AUTH_STRING (or PREFECT_API_KEY) to the server's credential",
        )
    if response.status_code != 200:
        return Check(
            "fail",
            "prefect api",
            f"{redact_url(url)} answered HTTP {response.status_code} on /health",
            "is PREFECT_API_URL the API (ending in /api), not the UI?",
        )
    return Check("ok", "prefect api", f"{redact_url(url)} healthy ({_elapsed_ms(started)})")


def check_prefect_database() -> Check | None:
    """PostgreSQL, when this machine's Prefect server is configured to use it."""
    from prefect.settings import get_current_settings

    raw = get_current_settings().server.database.connection_url
    url = raw.get_secret_value() if raw is not None else ""
    if not url.startswith("postgresql"):
        return None
    dsn = url.replace("+asyncpg", "", 1)
    shown = redact_url(dsn)
    parts = urllib.parse.urlsplit(dsn)
    where = f"{parts.hostname or '127.0.0.1'}:{parts.port or 5432}"
    try:
        with socket.create_connection(
            (parts.hostname or "127.0.0.1", parts.port or 5432), TIMEOUT_S
        ):
            pass
    except OSError as err:
        return Check(
            "fail",
            "postgresql",
            f"{shown}: nothing answers at {where} ({err.strerror or err})",
            "start PostgreSQL, or fix PREFECT_SERVER_DATABASE_CONNECTION_URL",
        )
    import asyncio

    async def login() -> None:
        import importlib

        asyncpg: Any = importlib.import_module("asyncpg")  # untyped either way

        conn = await asyncpg.connect(dsn, timeout=TIMEOUT_S)
        await conn.close()

    try:
        asyncio.run(login())
    except Exception as err:  # any refusal is the answer we report
        return Check(
            "fail",
            "postgresql",
            f"{shown}: {type(err).__name__}: {redact_url(str(err))}",
            "check the user, password and database in PREFECT_SERVER_DATABASE_CONNECTION_URL",
        )
    return Check("ok", "postgresql", f"{shown}: login works")


# -- stores ---------------------------------------------------------------------------------


def _is_remote(uri: str) -> bool:
    return "://" in uri and not uri.startswith("file://")


def check_store(alias: str, spec: StoreSpec, workflow_dir: Path) -> Check:
    """A local LanceDB folder must be readable and writable (or creatable)."""
    name = f"store {alias}"
    if _is_remote(spec.uri):
        return _check_remote_store(name, spec)
    folder = Path(spec.uri.removeprefix("file://")).expanduser()
    folder = folder if folder.is_absolute() else workflow_dir / folder
    existing = folder
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        return Check(
            "fail",
            name,
            f"{folder} cannot be created: {existing} is a file",
            "point the store's uri at a folder",
        )
    try:
        probe = existing / f".ragline-doctor-{uuid.uuid4().hex}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as err:
        return Check(
            "fail",
            name,
            f"{existing} is not writable ({err.strerror or err})",
            "fix the folder's permissions or point the store's uri elsewhere",
        )
    if existing != folder:
        return Check("ok", name, f"{folder}: will be created on the first write")
    try:
        tables = _table_names(str(folder), spec.storage_options)
    except Exception as err:  # lancedb raises many kinds; all mean "unreadable"
        return Check("fail", name, f"{folder} is not readable as LanceDB: {err}")
    state = "present" if spec.table in tables else "not created yet"
    return Check("ok", name, f"{folder}: readable and writable; table {spec.table} {state}")


def _table_names(uri: str, storage_options: dict[str, str]) -> list[str]:
    import lancedb

    db = lancedb.connect(uri, storage_options=storage_options or None)
    listed = db.list_tables() if hasattr(db, "list_tables") else db.table_names()
    names = getattr(listed, "tables", listed)
    return [str(n) for n in names]


def _check_remote_store(name: str, spec: StoreSpec) -> Check:
    import concurrent.futures

    pool = concurrent.futures.ThreadPoolExecutor(max_workers=1)
    future = pool.submit(_table_names, spec.uri, spec.storage_options)
    try:
        tables = future.result(timeout=TIMEOUT_S * 3)
    except concurrent.futures.TimeoutError:
        return Check("fail", name, f"{spec.uri}: no answer within {TIMEOUT_S * 3:.0f} s")
    except Exception as err:
        return Check(
            "fail",
            name,
            f"{spec.uri}: {type(err).__name__}: {err}",
            "check storage_options and the credentials in the environment",
        )
    finally:
        pool.shutdown(wait=False)
    state = "present" if spec.table in tables else "not created yet"
    return Check("ok", name, f"{spec.uri}: reachable; table {spec.table} {state}")


# -- models and secrets ----------------------------------------------------------------------


def check_secret(ref: str, where: str) -> Check:
    """A secret reference resolves; its value is never shown."""
    kind, _, secret = ref.partition(":")
    if kind == "env":
        if os.environ.get(secret):
            return Check("ok", f"secret {ref}", f"set ({where})")
        return Check(
            "fail",
            f"secret {ref}",
            f"environment variable {secret} is not set ({where})",
            f"export {secret}=... before the run",
        )
    try:
        from prefect.blocks.system import Secret

        Secret.load(secret)
    except Exception as err:
        return Check(
            "fail",
            f"secret {ref}",
            f"Prefect Secret block '{secret}' cannot be loaded ({type(err).__name__}; {where})",
            f"create it in the Prefect UI (Blocks > Secret) as '{secret}'",
        )
    return Check("ok", f"secret {ref}", f"Prefect Secret block found ({where})")


def check_model(alias: str, index: int, deployment: Deployment) -> Check:
    """LiteLLM knows the provider, and the endpoint (when one is given) answers HTTP."""
    name = f"model {alias}[{index}]"
    model = deployment.model
    from ragline.llm._litellm import litellm

    lib = litellm()  # first: it keeps LiteLLM offline (local cost map) before any import of it
    if model.startswith(LOCAL_PROVIDER):
        from ragline.llm.providers.local import EMBEDDING_MODELS, MODELS

        known = {f"{LOCAL_PROVIDER}{m}" for m in (*MODELS, *EMBEDDING_MODELS)}
        if model not in known:
            return Check(
                "fail",
                name,
                f"{model} is not a local model",
                "local models: " + ", ".join(sorted(known)),
            )
        return Check("ok", name, f"{model} runs in this process")
    try:
        _, provider, _, _ = lib.get_llm_provider(model, api_base=deployment.api_base)
    except Exception as err:
        return Check(
            "fail",
            name,
            f"LiteLLM cannot route {model}: {str(err).splitlines()[0][:160]}",
            "write the model as provider/name, e.g. openai/gpt-4o-mini",
        )
    if not deployment.api_base:
        return Check("ok", name, f"{model} via {provider}'s own endpoint (not probed)")
    return _probe_endpoint(name, model, deployment.api_base)


def _probe_endpoint(name: str, model: str, api_base: str) -> Check:
    import httpx

    shown = redact_url(api_base)
    started = time.perf_counter()
    try:
        response = httpx.get(api_base.rstrip("/") + "/models", timeout=TIMEOUT_S)
    except httpx.HTTPError as err:
        return Check(
            "fail",
            name,
            f"{model}: {shown} does not answer ({type(err).__name__}: {err})",
            "start the model server or fix api_base",
        )
    # Any HTTP answer (401 without a key, 404 on servers without /models) means it is up.
    return Check(
        "ok",
        name,
        f"{model}: {shown} answered HTTP {response.status_code} ({_elapsed_ms(started)})",
    )


# -- redis and disk ----------------------------------------------------------------------------


def check_redis(url: str) -> Check:
    import redis

    shown = redact_url(url)
    try:
        client = redis.Redis.from_url(
            url, socket_timeout=TIMEOUT_S, socket_connect_timeout=TIMEOUT_S
        )
        client.ping()
    except Exception as err:
        return Check(
            "fail",
            "redis",
            f"{shown}: {type(err).__name__}: {redact_url(str(err))}",
            "start Redis or fix cache.url",
        )
    return Check("ok", "redis", f"{shown}: PING answered")


def check_disk(folder: Path) -> Check:
    existing = folder
    while not existing.exists():
        existing = existing.parent
    free = shutil.disk_usage(existing).free
    detail = f"{existing}: {free / (1 << 30):.1f} GiB free"
    if free < NO_DISK:
        return Check("fail", "disk", detail, "free some space: stores and caches write here")
    if free < LOW_DISK:
        return Check("warn", "disk", detail, "less than 1 GiB left for stores and caches")
    return Check("ok", "disk", detail)


def _workers_can_run(step_types: list[str]) -> dict[str, Any]:
    """Runs on each Dask worker: can it import ragline and the workflow's step types?"""
    try:
        from ragline.sdk.registry import discover

        registry = discover()
    except Exception as err:  # what a worker without ragline says
        return {"error": f"{type(err).__name__}: {err}"}
    missing = [t for t in step_types if t not in registry.types]
    return {
        "missing": missing,
        "broken": dict(registry.broken),
        "malloc_trim": os.environ.get("MALLOC_TRIM_THRESHOLD_"),
    }


def check_dask_cluster(address: str, step_types: list[str]) -> Check:
    """The scheduler answers, has workers, and every worker has ragline and the plugins."""
    from ragline.compiler.dask import check_scheduler
    from ragline.errors import ConfigError

    name = "dask scheduler"
    try:
        check_scheduler(address, timeout=TIMEOUT_S)
    except ConfigError as err:
        return Check("fail", name, err.message, err.hint)
    from distributed import Client

    try:
        client = Client(address, timeout=TIMEOUT_S * 3, set_as_default=False)  # type: ignore[no-untyped-call]
        with client:
            workers = client.scheduler_info().get("workers", {})
            if not workers:
                return Check(
                    "fail", name, f"{address}: no workers", f"start some: dask worker {address}"
                )
            answers = client.run(_workers_can_run, sorted(set(step_types)))
    except Exception as err:
        return Check("fail", name, f"{address}: {type(err).__name__}: {err}")
    problems = []
    for worker, answer in sorted(answers.items()):
        if "error" in answer:
            problems.append(f"{worker} cannot import ragline ({answer['error']})")
        elif answer["missing"]:
            problems.append(f"{worker} lacks step types {', '.join(answer['missing'])}")
    if problems:
        return Check(
            "fail",
            name,
            f"{address}: " + "; ".join(problems),
            "install ragline and the plugins the workflow uses on every worker",
        )
    detail = f"{address}: {len(workers)} worker(s), each can run this workflow's steps"
    trimmed = sorted(w for w, answer in answers.items() if answer.get("malloc_trim"))
    if trimmed:  # Dask's nanny default: see docs/scaling-out.md#on-several-machines
        return Check(
            "warn",
            name,
            f"{detail}; {len(trimmed)} of them set MALLOC_TRIM_THRESHOLD_ "
            "(Dask's default), under which the local embedding model runs about 1.27x slower",
            "start the workers under " + _quiet_environ(),
        )
    return Check("ok", name, detail)


def _quiet_environ() -> str:
    """The variable that keeps glibc's thresholds in a nanny's worker, as a shell assignment."""
    from ragline.compiler.dask import quiet_workers_env

    return " ".join(
        f'{k}="{v}"' for k, v in quiet_workers_env().items() if k.endswith("PRE_SPAWN_ENVIRON")
    )


# -- what runs for a workflow -----------------------------------------------------------------


def workflow_checks(workflow: Workflow, workflow_dir: Path) -> Iterator[Callable[[], Check]]:
    """The checks one workflow needs, in the order they are shown."""
    for alias, spec in workflow.stores.items():
        yield partial(check_store, alias, spec, workflow_dir)
    for alias, deployments in workflow.models.items():
        for i, dep in enumerate(deployments):
            yield partial(check_model, alias, i, dep)
            if dep.api_key:
                yield partial(check_secret, dep.api_key, f"models.{alias}[{i}].api_key")
    for name in sorted(_env_references(workflow)):
        yield partial(check_secret, f"env:{name}", f"read as env.{name}")
    if workflow.cache.type == "redis" and workflow.cache.url:
        yield partial(check_redis, workflow.cache.url)
    if workflow.execution.task_runner == "dask":
        yield partial(_check_execution, workflow)
    yield partial(check_disk, workflow_dir / ".ragline")


def _check_execution(workflow: Workflow) -> Check:
    from ragline.compiler.dask import scheduler_address
    from ragline.errors import ConfigError

    try:
        address = scheduler_address(workflow.execution)
    except ConfigError as err:
        return Check("fail", "dask scheduler", err.message, err.hint)
    if address is None:
        kind = "processes" if workflow.execution.processes else "threads"
        return Check(
            "ok",
            "dask",
            f"a local cluster of {workflow.execution.workers} worker {kind} starts with each run",
        )
    return check_dask_cluster(address, [s.uses for s in workflow.steps])


def _env_references(workflow: Workflow) -> set[str]:
    from ragline.compiler.plan import plan

    return {name for p in plan(workflow) for name in p.env_refs}
