"""Temporary: the table moved to gradient_provider/kinds/experiment/table.py."""

from ..kinds.experiment.table import TABLE

__all__ = ["TABLE"]
