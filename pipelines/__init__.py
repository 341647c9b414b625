"""Batch embedding pipeline: tables in, embeddings, vectors in Qdrant and products out."""

__version__ = "0.1.0"
