"""Intake: tips from every channel, registered as events with a case number."""
