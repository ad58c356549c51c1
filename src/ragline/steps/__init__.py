"""The built-in step types, one per module, each registered as a plugin would be.

They are written against the step SDK (`ragline.sdk`) and nothing else of the
run machinery. Importing a name of the SDK from here still works for plugins
written before the SDK had its own package, with a DeprecationWarning.
"""

from __future__ import annotations

import warnings
from typing import Any


def __getattr__(name: str) -> Any:
    import ragline.sdk

    if name in ragline.sdk.__all__:
        warnings.warn(
            f"import {name} from ragline.sdk (ragline.steps holds the built-in steps)",
            DeprecationWarning,
            stacklevel=2,
        )
        return getattr(ragline.sdk, name)
    raise AttributeError(f"module 'ragline.steps' has no attribute {name!r}")
