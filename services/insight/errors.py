"""Why insight refuses a request (answered through ``api.REFUSALS``)."""


class InsightError(Exception):
    """A request insight cannot answer."""


class NotSeen(InsightError):
    """No tip of this case has reached insight (yet, or ever)."""


class BadPeriod(InsightError):
    """A period that is reversed or too long."""
