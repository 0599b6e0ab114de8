"""Dispatch: triage, routing, working-day deadlines, unit actions, reminders."""
