"""A local OpenAI-compatible HTTP server that misbehaves on request, for tests and benchmarks.

Tests talk to it through LiteLLM exactly as they would to a real provider, so
retries, fallbacks, timeouts, rate limits and the cache are exercised over
real HTTP. Each request is answered by a *behaviour*, chosen (first match):

1. the `X-Fake-Behavior` request header (per request);
2. a script queued for the request's model with `script(model, [...])`
   (consumed one per request, then 3. applies);
3. the model's default set with `set_behavior(model, ...)`;
4. `ok`.

Behaviours: `ok`, `429` (with `Retry-After`), `500`, `401` (echoing the key back,
as some providers do), `hang` (sleep longer than
any client timeout), `malformed` (a body that is not JSON), `no_choices` (valid
JSON without `choices`). `set_reply(model, text)` fixes what `ok` answers;
`latency` delays every answer. Every request is recorded (`requests`).
Only stdlib: it starts in a few milliseconds inside a test.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

BEHAVIORS = ("ok", "429", "500", "401", "hang", "malformed", "no_choices")


class Headers(dict[str, str]):
    """Request headers; names compare case-insensitively, as in HTTP (clients differ in case)."""

    def __init__(self, items: Iterable[tuple[str, str]] = ()) -> None:
        super().__init__((k.lower(), v) for k, v in items)

    def __getitem__(self, key: str) -> str:
        return super().__getitem__(key.lower())

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and super().__contains__(key.lower())

    def get(self, key: str, default: Any = None) -> Any:
        return super().get(key.lower(), default)


@dataclass
class Recorded:
    """One request as the server saw it."""

    path: str
    model: str
    behavior: str
    headers: dict[str, str]
    body: dict[str, Any]
    at: float = field(default_factory=time.monotonic)
    peer: str = ""  # the client's host:port: one value per TCP connection


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body leave in two writes; without TCP_NODELAY the client's delayed
    # ACK adds ~40 ms to every answer.
    disable_nagle_algorithm = True
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        """Silence the default stderr access log."""

    def do_GET(self) -> None:
        if self.path.rstrip("/").endswith("/models"):
            data = [{"id": m, "object": "model"} for m in sorted(self.server.fake.known_models())]
            self._json(200, {"object": "list", "data": data})
        else:
            self._json(404, {"error": {"message": f"no route {self.path}", "type": "not_found"}})

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            self._json(
                400,
                {"error": {"message": "request body is not JSON", "type": "invalid_request_error"}},
            )
            return
        fake = self.server.fake
        model = str(body.get("model", ""))
        behavior = fake.next_behavior(model, self.headers.get("X-Fake-Behavior"))
        peer = f"{self.client_address[0]}:{self.client_address[1]}"
        fake.record(
            Recorded(self.path, model, behavior, Headers(self.headers.items()), body, peer=peer)
        )
        if fake.latency:
            time.sleep(fake.latency)
        if behavior == "429":
            self._json(
                429,
                {"error": {"message": "rate limited by the fake server", "type": "rate_limit"}},
                {"Retry-After": str(fake.retry_after)},
            )
        elif behavior == "401":
            # Like some real providers, echo the key back: ragline must never print it.
            token = self.headers.get("Authorization", "").removeprefix("Bearer ")
            self._json(
                401,
                {
                    "error": {
                        "message": f"Incorrect API key provided: {token}",
                        "type": "invalid_request_error",
                    }
                },
            )
        elif behavior == "500":
            self._json(
                500, {"error": {"message": "the fake server failed", "type": "server_error"}}
            )
        elif behavior == "hang":
            time.sleep(fake.hang_seconds)
            self._json(200, _completion(model, "too late", body))
        elif behavior == "malformed":
            self._raw(200, b'{"id": "broken", "choices": [ {"message": ')
        elif behavior == "no_choices":
            self._json(200, {"id": "chatcmpl-empty", "object": "chat.completion", "model": model})
        elif self.path.rstrip("/").endswith("/embeddings"):
            self._json(200, _embeddings(model, body, fake.embedding_dim))
        elif self.path.rstrip("/").endswith("/chat/completions") and body.get("stream"):
            self._raw(
                200,
                _sse(model, fake.reply_for(model, body), body),
                content_type="text/event-stream",
            )
        elif self.path.rstrip("/").endswith("/chat/completions"):
            self._json(200, _completion(model, fake.reply_for(model, body), body))
        else:
            self._json(404, {"error": {"message": f"no route {self.path}", "type": "not_found"}})

    def _json(
        self, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None
    ) -> None:
        self._raw(status, json.dumps(payload).encode(), headers)

    def _raw(
        self,
        status: int,
        data: bytes,
        headers: dict[str, str] | None = None,
        content_type: str = "application/json",
    ) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (a timeout): nothing to answer


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256
    fake: FakeOpenAI


def _words(body: dict[str, Any]) -> int:
    text = " ".join(
        str(m.get("content", "")) for m in body.get("messages", []) if isinstance(m, dict)
    )
    return max(1, len(text.split()))


def _completion(model: str, text: str, body: dict[str, Any]) -> dict[str, Any]:
    prompt_tokens = _words(body)
    completion_tokens = max(1, len(text.split()))
    return {
        "id": "chatcmpl-" + hashlib.sha1(f"{time.time_ns()}".encode()).hexdigest()[:12],
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": text}}
        ],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }


def _sse(model: str, text: str, body: dict[str, Any]) -> bytes:
    """A streamed answer: one chunk per line, then usage (when asked) and [DONE]."""
    full = _completion(model, text, body)
    pieces = [p for p in text.splitlines(keepends=True)] or [""]
    events = []
    for i, piece in enumerate(pieces):
        delta = {"role": "assistant", "content": piece} if i == 0 else {"content": piece}
        events.append(
            {
                "id": full["id"],
                "object": "chat.completion.chunk",
                "created": full["created"],
                "model": model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": None}],
            }
        )
    events.append(
        {
            "id": full["id"],
            "object": "chat.completion.chunk",
            "created": full["created"],
            "model": model,
            "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}],
        }
    )
    if (body.get("stream_options") or {}).get("include_usage"):
        events.append(
            {
                "id": full["id"],
                "object": "chat.completion.chunk",
                "created": full["created"],
                "model": model,
                "choices": [],
                "usage": full["usage"],
            }
        )
    lines = [f"data: {json.dumps(e)}\n\n" for e in events] + ["data: [DONE]\n\n"]
    return "".join(lines).encode()


def _vector(text: str, dim: int) -> list[float]:
    digest = hashlib.sha256(text.encode()).digest()
    values = [(digest[i % len(digest)] / 255.0) - 0.5 for i in range(dim)]
    norm = sum(v * v for v in values) ** 0.5 or 1.0
    return [v / norm for v in values]


def _embeddings(model: str, body: dict[str, Any], dim: int) -> dict[str, Any]:
    inputs = body.get("input", [])
    texts = [inputs] if isinstance(inputs, str) else [str(t) for t in inputs]
    data = [
        {"object": "embedding", "index": i, "embedding": _vector(t, dim)}
        for i, t in enumerate(texts)
    ]
    tokens = sum(max(1, len(t.split())) for t in texts)
    return {
        "object": "list",
        "model": model,
        "data": data,
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
    }


def _echo(body: dict[str, Any]) -> str:
    messages = [m for m in body.get("messages", []) if isinstance(m, dict)]
    last = str(messages[-1].get("content", "")) if messages else ""
    return f"echo: {last[:200]}"


class FakeOpenAI:
    """The server and its controls; `with FakeOpenAI() as fake:` or `start()`/`stop()`."""

    def __init__(
        self,
        *,
        latency: float = 0.0,
        retry_after: float = 1.0,
        hang_seconds: float = 30.0,
        embedding_dim: int = 8,
    ) -> None:
        self.latency = latency
        self.retry_after = retry_after
        self.hang_seconds = hang_seconds
        self.embedding_dim = embedding_dim
        self.requests: list[Recorded] = []
        self._defaults: dict[str, str] = {}
        self._scripts: dict[str, deque[str]] = defaultdict(deque)
        self._replies: dict[str, str | Callable[[dict[str, Any]], str]] = {}
        self._lock = threading.Lock()
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -----------------------------------------------------------
    def start(self) -> FakeOpenAI:
        httpd = _Server(("127.0.0.1", 0), _Handler)
        httpd.fake = self
        self._httpd = httpd
        self._thread = threading.Thread(
            target=httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="fake-openai",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> FakeOpenAI:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._httpd is not None, "start() the server first"
        return int(self._httpd.server_address[1])

    @property
    def base_url(self) -> str:
        """What goes in `api_base` (the OpenAI SDK appends /chat/completions)."""
        return f"http://127.0.0.1:{self.port}/v1"

    # -- controls ------------------------------------------------------------
    def set_behavior(self, model: str, behavior: str) -> None:
        _check(behavior)
        with self._lock:
            self._defaults[model] = behavior

    def script(self, model: str, behaviors: Iterable[str]) -> None:
        """Answer the next requests for `model` with these behaviours, in order."""
        items = list(behaviors)
        for b in items:
            _check(b)
        with self._lock:
            self._scripts[model].extend(items)

    def set_reply(self, model: str, reply: str | Callable[[dict[str, Any]], str]) -> None:
        """What `ok` answers for `model`: a fixed text or a function of the request body."""
        with self._lock:
            self._replies[model] = reply

    def reset(self) -> None:
        with self._lock:
            self._defaults.clear()
            self._scripts.clear()
            self._replies.clear()
            self.requests.clear()

    # -- what the handler uses -------------------------------------------------
    def next_behavior(self, model: str, header: str | None) -> str:
        if header:
            _check(header)
            return header
        with self._lock:
            queue = self._scripts.get(model)
            if queue:
                return queue.popleft()
            return self._defaults.get(model, "ok")

    def reply_for(self, model: str, body: dict[str, Any]) -> str:
        with self._lock:
            reply = self._replies.get(model)
        if reply is None:
            return _echo(body)
        return reply(body) if callable(reply) else reply

    def record(self, item: Recorded) -> None:
        with self._lock:
            self.requests.append(item)

    def known_models(self) -> set[str]:
        with self._lock:
            return set(self._defaults) | set(self._scripts) | set(self._replies)

    def calls(self, model: str | None = None) -> list[Recorded]:
        """Requests seen so far, optionally only those for `model`."""
        with self._lock:
            return [r for r in self.requests if model is None or r.model == model]


def _check(behavior: str) -> None:
    if behavior not in BEHAVIORS:
        raise ValueError(f"unknown behaviour {behavior!r}; use one of {', '.join(BEHAVIORS)}")


def main() -> None:
    """`python -m ragline.testing.openai_server [port]`: serve until interrupted."""
    import sys

    fake = FakeOpenAI()
    httpd = _Server(("127.0.0.1", int(sys.argv[1]) if len(sys.argv) > 1 else 0), _Handler)
    httpd.fake = fake
    print(f"fake OpenAI server on http://127.0.0.1:{httpd.server_address[1]}/v1", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        httpd.serve_forever()


if __name__ == "__main__":
    main()
