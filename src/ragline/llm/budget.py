"""A hard stop for a run's model use: requests, tokens and cost, per run and per alias.

Checked before each call (a request that would exceed `max_requests` is not
sent) and after it (tokens and cost are known only then); crossing a limit
raises a StepError that is not retried, so the run stops instead of billing on.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from ragline.errors import ErrorCategory, StepError
from ragline.llm.usage import Usage
from ragline.spec.model import Budget


@dataclass
class Spent:
    """Requests sent (counted before each call) and what the answered ones used."""

    requests: int = 0
    used: Usage = field(default_factory=Usage)


@dataclass
class BudgetTracker:
    """What a run has spent so far against its `budget:`."""

    budget: Budget | None
    total: Spent = field(default_factory=Spent)
    by_alias: dict[str, Spent] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _limits(self, alias: str) -> list[tuple[str, Budget, Spent]]:
        if self.budget is None:
            return []
        out = [("run", self.budget, self.total)]
        if alias in self.budget.per_alias:
            out.append(
                (
                    f"alias '{alias}'",
                    self.budget.per_alias[alias],
                    self.by_alias.setdefault(alias, Spent()),
                )
            )
        return out

    def before_call(self, alias: str) -> None:
        """Reserve one request; refuse it when a request limit is reached."""
        with self._lock:
            for scope, limit, spent in self._limits(alias):
                if limit.max_requests is not None and spent.requests >= limit.max_requests:
                    raise _exceeded(
                        scope, f"max_requests {limit.max_requests} reached ({spent.requests} sent)"
                    )
            self.total.requests += 1
            self.by_alias.setdefault(alias, Spent()).requests += 1

    def after_call(self, alias: str, usage: Usage) -> None:
        """Add a finished call's usage; stop the run when a token or cost limit is crossed."""
        with self._lock:
            self.total.used += usage
            mine = self.by_alias.setdefault(alias, Spent())
            mine.used += usage
            for scope, limit, spent in self._limits(alias):
                tokens, cost = spent.used.tokens, spent.used.cost_usd
                if limit.max_tokens is not None and tokens > limit.max_tokens:
                    raise _exceeded(
                        scope, f"max_tokens {limit.max_tokens} exceeded ({tokens} used)"
                    )
                if limit.max_cost_usd is not None and cost > limit.max_cost_usd:
                    raise _exceeded(
                        scope, f"max_cost_usd {limit.max_cost_usd} exceeded (${cost:.6f} spent)"
                    )


def _exceeded(scope: str, what: str) -> StepError:
    return StepError(
        f"model budget of the {scope}: {what}; the run stops here",
        category=ErrorCategory.BUSINESS_LOGIC,
        retryable=False,
        hint="raise the limit under `budget:` in the workflow, or lower k / max_tokens",
    )
