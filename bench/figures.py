"""Every module of figures, imported so that each registers its own: a new module is added here."""

from . import drift_figures, emulator_figures, stack_figures, up_figures
from .registry import FIGURES

__all__ = ["FIGURES", "drift_figures", "emulator_figures", "stack_figures", "up_figures"]
