"""HTTP handlers of the v1 API, one module per resource family, and the ``/_emulator`` admin API."""
