"""Temporary: the table moved to gradient_provider/kinds/deployment/table.py."""

from ..kinds.deployment.table import TABLE

__all__ = ["TABLE"]
