"""Tracking's accountability wing: the 问责程序 of a case (write side), its rules, triggers,
commands and API (ADR 19)."""
