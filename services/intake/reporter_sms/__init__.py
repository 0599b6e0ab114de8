"""短信告知举报人 — SMS progress notices to reporters who agreed to them (issue 20 point 5,
ADR 37). Intake sends them itself: it alone can unseal the reporter's phone."""
