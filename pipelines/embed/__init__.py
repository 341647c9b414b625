"""Embedding stage: source table -> normalised text -> vectors in a Delta table, incrementally."""
