"""Temporary: the table moved to gradient_provider/kinds/project/table.py."""

from ..kinds.project.table import TABLE

__all__ = ["TABLE"]
