"""Input data sets: a seeded synthetic catalog with planted faults, and MovieLens-100k."""
