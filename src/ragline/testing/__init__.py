"""Test helpers others can use: a misbehaving local OpenAI-compatible server and pytest fixtures."""
