"""Prompt templates: sandboxed Jinja, versions and content hashes, contexts with citations, token budgets."""
