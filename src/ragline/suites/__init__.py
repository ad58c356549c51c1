"""Model test suites (`ragline test`): cases with inputs and assertions, run against
workflows or model aliases, reported as a table, JSON, JUnit XML and Prefect artifacts."""

from ragline.suites.load import Suite, load_suite

__all__ = ["Suite", "load_suite"]
