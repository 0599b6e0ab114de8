"""Insight (issue 25, ADR 23): duplicate suggestions and early warnings, read-only beside intake."""
