"""A local LLM (Ollama): speakers' roles, and which hosts count as this computer."""
