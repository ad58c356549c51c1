"""RAG metrics and quality gates."""
