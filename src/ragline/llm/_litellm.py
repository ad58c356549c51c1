"""The one place ragline imports LiteLLM: offline defaults first, providers registered once.

`import litellm` costs seconds, so nothing imports this module at load time of
`ragline.spec`, `ragline.steps` or `ragline.cli`; it is imported inside the
functions that call a model.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from typing import Any

_lock = threading.Lock()
_ready = False


def _import_whole() -> Any:
    """`import litellm`, or, when it is cut short, no trace of it in sys.modules.

    An import interrupted halfway (a step's timeout, Ctrl-C) leaves submodules
    behind whose parent is gone; the next `import litellm` then builds a package
    without those attributes ("module 'litellm' has no attribute 'utils'").
    """
    try:
        import litellm as _litellm
    except BaseException:
        for name in [n for n in sys.modules if n == "litellm" or n.startswith("litellm.")]:
            del sys.modules[name]
        raise
    return _litellm


def litellm() -> Any:
    """LiteLLM, configured for ragline: local cost map, quiet, local providers registered."""
    global _ready
    # Without this LiteLLM fetches its price list from the internet at import.
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    if _ready:
        import litellm as _litellm

        return _litellm
    with _lock:
        _litellm = _import_whole()
        if not _ready:
            from ragline.llm.providers.local import LocalProvider
            from ragline.llm.redact import install_log_filters

            _litellm.suppress_debug_info = True
            _litellm.telemetry = False
            if not any(item.get("provider") == "local" for item in _litellm.custom_provider_map):
                _litellm.custom_provider_map = [
                    *_litellm.custom_provider_map,
                    {"provider": "local", "custom_handler": LocalProvider()},
                ]
                _litellm.utils.custom_llm_setup()  # type: ignore[no-untyped-call]
            install_log_filters()
            if "LITELLM_LOG" not in os.environ:  # LiteLLM logs every call at INFO otherwise
                for name in ("LiteLLM", "LiteLLM Router", "LiteLLM Proxy"):
                    logging.getLogger(name).setLevel(logging.WARNING)
            _ready = True
    return _litellm
