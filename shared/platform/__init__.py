"""What every service runs on, whatever its domain: settings, clock and calendar, the event
store, the backbone (messaging), read models and their projections, protection of secrets.
Imports nothing from ``shared.web``: a worker without HTTP needs all of it."""
