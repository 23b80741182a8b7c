"""Pulumi-free lifecycles: one module per resource kind, each with its field-policy table."""
