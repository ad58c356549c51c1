"""Test hook for "a run killed in the middle of indexing": loaded into a `ragline
run` subprocess through RAGLINE_PLUGINS (it registers no step type).

After the first write to a LanceDB table has committed, it records the table's
row count in the file named by RAGLINE_TEST_INDEX_MARKER and sleeps, so the
test can SIGKILL the process while the index step is under way: part of the
corpus written, the rest (and the full-text index) not yet. The writes
themselves are LanceDB's own, unchanged.
"""

from __future__ import annotations

import functools
import os
import time
from pathlib import Path
from typing import Any

MARKER = os.environ.get("RAGLINE_TEST_INDEX_MARKER")


def _pause_after_first_write(method: Any) -> Any:
    @functools.wraps(method)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        result = method(self, *args, **kwargs)
        if MARKER and not Path(MARKER).exists():
            Path(MARKER).write_text(f"{self.name}: {self.count_rows()} rows\n")
            time.sleep(120)
        return result

    return wrapper


if MARKER:
    from lancedb.table import LanceTable

    LanceTable.add = _pause_after_first_write(LanceTable.add)  # type: ignore[method-assign]
    LanceTable._do_merge = _pause_after_first_write(LanceTable._do_merge)  # type: ignore[method-assign]
