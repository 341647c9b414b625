"""Validation: vector-aware Great Expectations suites and drift checks gate publishing."""
