"""Everything between a workflow and a model provider, all through LiteLLM."""
