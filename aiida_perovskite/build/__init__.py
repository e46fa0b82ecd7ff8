"""Constructing perovskite structures (plain Python, no AiiDA)."""

from .ideal import alkylammonium, layered_perovskite, methylammonium

__all__ = ('alkylammonium', 'layered_perovskite', 'methylammonium')
