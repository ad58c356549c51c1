"""Per-deployment `rpm` limits that delay a request instead of failing it.

LiteLLM's Router knows each deployment's `rpm`, but when every deployment of
an alias is at its limit it raises a RateLimitError. A workflow would rather
wait: this LiteLLM callback's `pre_call_check` runs after the Router picked a
deployment and before the request leaves, and sleeps until a token-bucket
(rate rpm/60 per second, burst of one second's worth) has room. It shapes
traffic from this process; for several workers share limits through Redis.
"""

from __future__ import annotations

import threading
import time
from typing import Any

_instance: Any = None
_instance_lock = threading.Lock()


class _Bucket:
    def __init__(self, rpm: int) -> None:
        self.rate = rpm / 60.0
        self.capacity = max(1.0, rpm / 60.0)
        self.tokens = self.capacity
        self.updated = time.monotonic()
        self.lock = threading.Lock()

    def reserve(self) -> float:
        """Take a token; return how long the caller must wait for it."""
        with self.lock:
            now = time.monotonic()
            self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
            self.updated = now
            self.tokens -= 1.0
            return 0.0 if self.tokens >= 0 else -self.tokens / self.rate


class _RpmPacing:
    """The pacer's behaviour; mixed into LiteLLM's CustomLogger when first needed."""

    def __init__(self) -> None:
        super().__init__()
        self.buckets: dict[str, _Bucket] = {}
        self.waited_s = 0.0
        self.lock = threading.Lock()

    def install(self, lib: Any) -> None:
        if self not in lib.callbacks:
            lib.callbacks.append(self)

    def _bucket(self, deployment: dict[str, Any]) -> _Bucket | None:
        params = deployment.get("litellm_params") or {}
        rpm = params.get("rpm") or (deployment.get("model_info") or {}).get("rpm")
        if not rpm:
            return None
        deployment_id = (deployment.get("model_info") or {}).get("id")
        key = f"{deployment_id}|{params.get('model')}|{rpm}"
        with self.lock:
            bucket = self.buckets.get(key)
            if bucket is None:
                bucket = self.buckets[key] = _Bucket(int(rpm))
            return bucket

    def pre_call_check(self, deployment: dict[str, Any]) -> dict[str, Any] | None:
        bucket = self._bucket(deployment)
        if bucket is not None:
            wait = bucket.reserve()
            if wait > 0:
                with self.lock:
                    self.waited_s += wait
                time.sleep(wait)
        return None

    async def async_pre_call_check(
        self, deployment: dict[str, Any], parent_otel_span: Any = None
    ) -> dict[str, Any] | None:
        import asyncio

        bucket = self._bucket(deployment)
        if bucket is not None:
            wait = bucket.reserve()
            if wait > 0:
                await asyncio.sleep(wait)
        return None


def pacer() -> Any:
    """The process-wide pacer (a LiteLLM CustomLogger), created on first use."""
    global _instance
    with _instance_lock:
        if _instance is None:
            from litellm.integrations.custom_logger import CustomLogger

            class RpmPacer(_RpmPacing, CustomLogger):
                pass

            _instance = RpmPacer()
        return _instance
