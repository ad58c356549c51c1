"""Offline model providers, registered with LiteLLM as the custom provider `local`."""
