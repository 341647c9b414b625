"""Nearest neighbours of items by cosine similarity, computed in Spark with numpy blocks."""
