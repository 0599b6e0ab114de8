"""The one refusal of the cleaners."""


class NotCleanable(Exception):
    """The file does not parse far enough to take its metadata out safely (broken, encrypted,
    or laid out in a way the cleaner does not follow): it is refused, never kept as it is."""
