"""The typed workflow model (apiVersion ragline/v1).

This model is the single source of `schemas/workflow.schema.json`, of the
validation users see, and of the editor's hover text (field descriptions).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

API_VERSION = "ragline/v1"
ID_PATTERN = r"^[a-z][a-z0-9_-]*$"
NAME_PATTERN = r"^[a-z0-9][a-z0-9_.-]*$"
SECRET_REF_PATTERN = r"^(env|secret):[A-Za-z_][A-Za-z0-9_.-]*$"


class Strict(BaseModel):
    """Every section forbids unknown keys: a typo is an error with a suggestion."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


InputType = Literal["string", "integer", "number", "boolean", "array", "object"]


class InputSpec(Strict):
    """A typed flow parameter (a JSON-Schema subset), editable in the Prefect UI."""

    type: InputType = Field(description="JSON type of the parameter.")
    description: str | None = None
    default: Any = Field(default=None, description="Value used when the run does not set one.")
    minimum: float | None = None
    maximum: float | None = None
    min_length: int | None = Field(default=None, alias="minLength", ge=0)
    max_length: int | None = Field(default=None, alias="maxLength", ge=0)
    enum: list[Any] | None = None
    items: dict[str, Any] | None = Field(default=None, description="Schema of array items.")


SecretRef = Annotated[
    str,
    Field(
        pattern=SECRET_REF_PATTERN,
        description="A reference, never a literal: 'env:NAME' or 'secret:PREFECT_SECRET_BLOCK'.",
    ),
]


EmbeddingBackend = Literal["torch", "onnx", "onnx-int8"]


class Deployment(Strict):
    """One LiteLLM Router deployment behind a model alias."""

    model: str = Field(
        description="LiteLLM model name, e.g. 'openai/gpt-4o-mini' or 'local/extractive'."
    )
    api_key: SecretRef | None = None
    api_base: str | None = Field(
        default=None, description="Endpoint URL, e.g. an Ollama or vLLM server."
    )
    api_version: str | None = None
    rpm: int | None = Field(
        default=None, ge=1, description="Requests per minute for this deployment."
    )
    tpm: int | None = Field(
        default=None, ge=1, description="Tokens per minute for this deployment."
    )
    weight: float | None = Field(default=None, gt=0)
    timeout: float | None = Field(default=None, gt=0)
    max_input_tokens: int | None = Field(default=None, ge=1)
    params: dict[str, Any] = Field(default_factory=dict, description="Extra LiteLLM parameters.")
    backend: EmbeddingBackend | None = Field(
        default=None,
        description=(
            "Local embedding models only: torch (default), onnx, or onnx-int8 (about 1.5x "
            "faster, mean cosine 0.99+ to torch). A store records the model and backend it was "
            "indexed with; querying it with another backend is an error."
        ),
    )

    @model_validator(mode="after")
    def _backend_is_local(self) -> Deployment:
        if self.backend is not None and not self.model.startswith("local/"):
            raise ValueError(
                f"backend applies to local embedding models (local/all-MiniLM-L6-v2), "
                f"not '{self.model}'; remove `backend`"
            )
        return self


RoutingStrategy = Literal[
    "simple-shuffle", "least-busy", "latency-based-routing", "usage-based-routing"
]


class Routing(Strict):
    """How the LiteLLM Router picks deployments and what it does on failure."""

    strategy: RoutingStrategy = Field(
        default="simple-shuffle",
        description=(
            "LiteLLM routing strategy. usage-based-routing picks the deployment with the most "
            "rpm/tpm headroom; with cache type redis those counters are shared by all workers."
        ),
    )
    num_retries: int = Field(default=2, ge=0)
    timeout: float = Field(default=60, gt=0)
    retry_after: float = Field(default=0, ge=0, description="Minimum seconds before a retry.")
    allowed_fails: int | None = Field(default=None, ge=0)
    cooldown_time: float | None = Field(default=None, ge=0)
    fallbacks: dict[str, list[str]] = Field(
        default_factory=dict, description="alias -> aliases tried next."
    )


class FullTextSpec(Strict):
    """How a store's full-text (BM25) index turns text into terms (LanceDB's tokenizer)."""

    language: str = Field("English", description="Language of the stemmer and stop words.")
    stem: bool = Field(True, description="Match word forms: 'treated' finds 'treatment'.")
    remove_stop_words: bool = Field(True, description="Ignore words like 'the', 'of', 'is'.")
    ascii_folding: bool = Field(True, description="'café' matches 'cafe'.")
    lower_case: bool = Field(True, description="Case-insensitive terms.")


class StoreSpec(Strict):
    """A LanceDB table: local folder or object-storage URI."""

    uri: str = Field(
        description="LanceDB URI: a folder (relative to the workflow file) or s3://, gs://, az://"
    )
    table: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    storage_options: dict[str, str] = Field(default_factory=dict)
    fulltext: FullTextSpec = Field(
        default_factory=FullTextSpec,
        description="Full-text index options; changing them rebuilds the index on the next "
        "`index` run.",
    )


RetryDelay = float | list[float]


class Partition(Strict):
    """Run a step as several Prefect tasks, each over a slice of its list input."""

    size: int | None = Field(default=None, ge=1, description="Items per partition.")
    count: int | None = Field(default=None, ge=1, description="Number of partitions.")

    @model_validator(mode="after")
    def _one_of_size_or_count(self) -> Partition:
        if (self.size is None) == (self.count is None):
            raise ValueError("give exactly one of size (items per partition) or count")
        return self


class Defaults(Strict):
    """Options every step inherits unless it sets its own."""

    retries: int = Field(default=0, ge=0, le=20)
    retry_delay_seconds: RetryDelay = Field(default=1.0)
    retry_jitter_factor: float | None = Field(default=0.5, ge=0)
    timeout_seconds: float | None = Field(default=None, gt=0)
    tags: list[str] = Field(default_factory=list)
    cache: bool = True
    partition: Partition | None = Field(
        default=None, description="Partition every step whose type can be partitioned."
    )


class StepSpec(Strict):
    """One step: a registered step type and its config."""

    id: str = Field(pattern=ID_PATTERN, description="Unique step id; the Prefect task run's name.")
    uses: str = Field(description="A registered step type (see `ragline steps`).")
    with_: dict[str, Any] = Field(
        default_factory=dict, alias="with", description="The step type's config."
    )
    needs: list[str] = Field(
        default_factory=list, description="Steps that must finish first (no data)."
    )
    description: str | None = None
    retries: int | None = Field(default=None, ge=0, le=20)
    retry_delay_seconds: RetryDelay | None = None
    retry_jitter_factor: float | None = Field(default=None, ge=0)
    timeout_seconds: float | None = Field(default=None, gt=0)
    tags: list[str] = Field(default_factory=list)
    cache: bool | None = Field(
        default=None, description="Skip the step when its fingerprint is unchanged."
    )
    partition: Partition | None = Field(
        default=None,
        description="Run as several tasks over slices of the step's list input "
        "(`embed[0]`, `embed[1]`, ...); its step type must say it can.",
    )


class Schedule(Strict):
    """When `ragline deploy`/`serve` runs the workflow: exactly one of cron, interval, rrule."""

    cron: str | None = None
    interval: float | None = Field(default=None, gt=0, description="Seconds between runs.")
    rrule: str | None = None
    timezone: str | None = None
    parameters: dict[str, Any] = Field(default_factory=dict)
    active: bool = True

    @model_validator(mode="after")
    def _exactly_one_kind(self) -> Schedule:
        kinds = [k for k in ("cron", "interval", "rrule") if getattr(self, k) is not None]
        if len(kinds) != 1:
            raise ValueError("a schedule needs exactly one of 'cron', 'interval' or 'rrule'")
        return self


class CacheSpec(Strict):
    """The model-response cache (LiteLLM caching)."""

    type: Literal["disk", "redis", "none"] = "disk"
    url: str | None = Field(
        default=None,
        description=(
            "For type redis: redis://[:password@]host:port/db, or env:NAME / secret:BLOCK "
            "holding that URL. Besides cached answers, the LiteLLM Router keeps its per-deployment "
            "rpm/tpm counters and cooldowns there, shared by every worker."
        ),
    )
    namespace: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z0-9_.:-]+$",
        description=(
            "Prefix of this workflow's Redis keys (default ragline); workers that should share "
            "cache hits and rate limits use the same one."
        ),
    )
    dir: str | None = Field(
        default=None, description="Folder for type disk (default .ragline/cache)."
    )
    ttl: float | None = Field(default=None, gt=0, description="Seconds a cached answer lives.")


class Budget(Strict):
    """A hard stop for a run's model use."""

    max_tokens: int | None = Field(default=None, ge=1)
    max_cost_usd: float | None = Field(default=None, gt=0)
    max_requests: int | None = Field(default=None, ge=1)
    per_alias: dict[str, Budget] = Field(default_factory=dict)


DASK_ADDRESS_ENV = "RAGLINE_DASK_ADDRESS"


class Execution(Strict):
    """Where a run's steps execute: threads of the run's process, or a Dask cluster."""

    task_runner: Literal["thread", "dask"] = "thread"
    workers: int = Field(
        default=2,
        ge=1,
        description="dask without address: the size of the local cluster started for the run.",
    )
    processes: bool = Field(
        default=True,
        description="dask without address: worker processes (true) or threads of this process.",
    )
    address: str | None = Field(
        default=None,
        pattern=r"^(env:[A-Za-z_][A-Za-z0-9_]*|(tcp|tls|inproc|ucx)://\S+)$",
        description="dask: the scheduler of an existing cluster, e.g. tcp://10.0.0.5:8786, or "
        f"env:NAME to read it from the environment. {DASK_ADDRESS_ENV} overrides it.",
    )


class Workflow(Strict):
    """A ragline workflow file."""

    api_version: Literal["ragline/v1"] = Field(alias="apiVersion")
    name: str = Field(pattern=NAME_PATTERN, description="The Prefect flow's name.")
    description: str | None = None
    inputs: dict[str, InputSpec] = Field(default_factory=dict)
    models: dict[str, list[Deployment]] = Field(default_factory=dict)
    routing: Routing = Field(default_factory=Routing)
    stores: dict[str, StoreSpec] = Field(default_factory=dict)
    cache: CacheSpec = Field(default_factory=CacheSpec)
    budget: Budget | None = None
    execution: Execution = Field(default_factory=Execution)
    defaults: Defaults = Field(default_factory=Defaults)
    steps: list[StepSpec] = Field(min_length=1)
    outputs: dict[str, Any] = Field(default_factory=dict)
    schedule: Schedule | list[Schedule] | None = None
    secret_env: list[Annotated[str, Field(pattern=r"^[A-Za-z][A-Za-z0-9_]*$")]] = Field(
        default_factory=list,
        description=(
            "Environment variables that hold secrets and that `${{ env.NAME }}` may read "
            "although their names look like secrets (KEY, TOKEN, PASSWORD...); their values "
            "are masked (***) in every step output, log line, cache entry and run output."
        ),
    )

    def step(self, step_id: str) -> StepSpec:
        for s in self.steps:
            if s.id == step_id:
                return s
        raise KeyError(step_id)

    @property
    def schedules(self) -> list[Schedule]:
        if self.schedule is None:
            return []
        return self.schedule if isinstance(self.schedule, list) else [self.schedule]
