"""A local stand-in for the Paperspace public API v1 (https://api.paperspace.com/v1).

It is a real HTTP server process with SQLite state, clock-derived lifecycles and injectable faults.
It never imports ``gradient_provider``: the provider talks to it only over HTTP, as it would to Paperspace.
"""
