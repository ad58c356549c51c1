"""Local, offline text checks: PII, secrets, prompt injection, toxicity, malicious code."""

from ragline.safety.checks import CHECKS, Finding, run_checks

__all__ = ["CHECKS", "Finding", "run_checks"]
