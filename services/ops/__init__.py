"""Whole-system tools (``taizhang projections rebuild``, ``taizhang verify``): they stand above
the services and read every store through ``services.registry``, never a service's internals."""
