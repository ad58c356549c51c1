"""Whether a schedule's cron expression, rrule and timezone mean anything, without Prefect.

`ragline validate` must stay light, yet a cron of `0 25 * * *` or a timezone
of `Europe/Pari` should not wait for `ragline deploy` to be found. The cron
check is Prefect's own: the croniter Prefect vendors (`prefect/_vendor/croniter`)
is loaded as a single file, so `import prefect` (a second or more) never runs
and validate agrees with deploy exactly. Timezones are checked against the IANA
names of `zoneinfo`, as Prefect does for cron and interval schedules; rrules
with dateutil, as Prefect does. `ragline deploy` still asks Prefect last.
"""

from __future__ import annotations

import functools
import importlib.util
from pathlib import Path
from typing import Any

from ragline.spec.diagnostics import did_you_mean

MAX_RRULE_LENGTH = 6500  # Prefect's limit (about a year of RDATEs)
_CRON_FIELDS = "minute hour day-of-month month day-of-week"


@functools.cache
def _croniter() -> Any | None:
    """Prefect's vendored croniter class, or None if this Prefect does not ship it."""
    spec = importlib.util.find_spec("prefect")  # finds, does not import
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "_vendor/croniter/croniter.py"
    module_spec = importlib.util.spec_from_file_location("ragline._prefect_croniter", path)
    if not path.is_file() or module_spec is None or module_spec.loader is None:
        return None
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    return getattr(module, "croniter", None)


@functools.cache
def _timezones() -> frozenset[str]:
    import zoneinfo

    return frozenset(zoneinfo.available_timezones())


def cron_problem(cron: str) -> str | None:
    """None when Prefect accepts the cron expression, else what is wrong and how to write it."""
    fields = cron.split()
    if any(field.casefold() in ("r", "h") for field in fields):
        return (
            f"cron expression {cron!r} uses random (R) or hashed (H) fields, "
            "which Prefect does not support; write the minute and hour out"
        )
    croniter = _croniter()
    if croniter is None:
        return None  # `ragline deploy` will ask Prefect itself
    try:
        croniter.expand(cron)
    except Exception as err:  # croniter's errors share no public base class
        if len(fields) not in (5, 6, 7):
            reason = f"it has {len(fields)} field(s)"
        elif "out of range" in str(err):
            reason = "a value is out of range"
        else:
            reason = (
                "a field is not a number, range (1-5), list (1,3), step (*/15) or name (mon, jan)"
            )
        return (
            f"invalid cron expression {cron!r}: {reason}; write 5 fields, "
            f"{_CRON_FIELDS} (e.g. '0 6 * * *' for 06:00 every day)"
        )
    return None


def rrule_problem(rrule: str) -> str | None:
    """None when dateutil (and so Prefect) reads the rrule, else why not."""
    if len(rrule) > MAX_RRULE_LENGTH:
        return f"the rrule is {len(rrule)} characters; Prefect accepts at most {MAX_RRULE_LENGTH}"
    import dateutil.rrule  # type: ignore[import-untyped]

    try:
        dateutil.rrule.rrulestr(rrule, cache=True)
    except (ValueError, TypeError) as err:
        return (
            f"invalid rrule {rrule!r}: {err}; write e.g. 'FREQ=WEEKLY;BYDAY=MO;BYHOUR=6' (RFC 5545)"
        )
    return None


def timezone_problem(timezone: str) -> str | None:
    """None for an IANA timezone name, else a did-you-mean."""
    known = _timezones()
    if timezone in known:
        return None
    hint = did_you_mean(timezone, known) or " such as 'UTC', 'Europe/Paris', 'America/New_York'"
    return f"unknown timezone {timezone!r}: schedules take IANA timezone names{hint}"


def schedule_problems(schedule: dict[str, Any]) -> list[tuple[str, str]]:
    """(key, message) for each value of one `schedule:` mapping Prefect would refuse."""
    problems: list[tuple[str, str]] = []
    checks = (("cron", cron_problem), ("rrule", rrule_problem), ("timezone", timezone_problem))
    for key, check in checks:
        value = schedule.get(key)
        if isinstance(value, str):
            message = check(value)
            if message:
                problems.append((key, message))
    return problems
