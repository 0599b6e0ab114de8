"""What the services share: contracts, settings, persistence and messaging, auth, calendar."""
