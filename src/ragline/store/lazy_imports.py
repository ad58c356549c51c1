"""Keep `import lancedb` from building a REST client that a local table never uses.

`lancedb` (0.40) imports `lance_namespace`, which imports the request and
response models of `lance_namespace_urllib3_client`. That package's
`__init__` also imports its nine generated REST API modules, whose ~370
methods are each wrapped in pydantic's `validate_call`: building those
validators was most of `import lancedb` (about 1 s of CPU on an idle core,
4-15 s on the shared machine), paid by every `index` and `retrieve` step,
so by every unchanged re-ingestion. Only a REST-backed Lance namespace uses
them, and ragline's stores never do.

`defer_namespace_rest_client()` registers the package without running its
`__init__` (its `models` subpackage imports as usual, through `__path__`), and
runs the real `__init__` the first time anything reads a name from the package
itself (PEP 562 module `__getattr__`), so code that uses the REST client still
gets it, complete. Lance did the same for `import lance` upstream
(lance-format/lance#9273); lancedb has not yet.
"""

from __future__ import annotations

import importlib.util
import sys
import threading
from typing import Any

REST_CLIENT = "lance_namespace_urllib3_client"
_lock = threading.RLock()


def defer_namespace_rest_client() -> None:
    """Register the REST client package so its `__init__` runs on first use, not on import."""
    defer_package_init(REST_CLIENT)


def defer_package_init(name: str) -> None:
    """Register package `name` without running its `__init__` until a name is read from it.

    Its submodules import as usual meanwhile. A no-op when the package is already
    imported or not installed.
    """
    with _lock:
        if name in sys.modules:
            return
        spec = importlib.util.find_spec(name)
        if spec is None or spec.loader is None or spec.submodule_search_locations is None:
            return
        module = importlib.util.module_from_spec(spec)
        loader = spec.loader

        def __getattr__(attribute: str) -> Any:
            if attribute.startswith("__") and attribute != "__all__":
                raise AttributeError(attribute)  # introspection (copy, inspect) loads nothing
            with _lock:
                if module.__dict__.get("__getattr__") is __getattr__:
                    del module.__dict__["__getattr__"]
                    loader.exec_module(module)  # the real __init__, once
            return getattr(module, attribute)

        module.__dict__["__getattr__"] = __getattr__
        sys.modules[name] = module


def init_ran(name: str) -> bool:
    """Whether package `name` is imported with its `__init__` run (for tests, diagnostics)."""
    module = sys.modules.get(name)
    return module is not None and "__getattr__" not in module.__dict__
