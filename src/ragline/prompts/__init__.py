"""Prompt templates: sandboxed Jinja, versions and hashes, cited contexts, token budgets."""
