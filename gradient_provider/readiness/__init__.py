"""Waiting for a whole stack at once: one Readiness resource waits for every deployment and experiment that
the program deferred to it, so no operation of the dynamic-provider server's four holds a slot while it
waits (see docs/architecture.md, "Time, waits and the four workers")."""
