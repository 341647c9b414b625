"""Infrastructure for reading sources and managing working folders (no stage logic)."""
