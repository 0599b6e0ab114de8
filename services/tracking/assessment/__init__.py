"""Unit assessment (责任制考核, issue 19): the annual score, grade, veto and ranking of each
unit, and the office's decisions and rectification notices on them (ADR 24)."""
