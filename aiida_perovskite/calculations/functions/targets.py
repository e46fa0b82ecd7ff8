"""Calcfunctions from simulations and structures to learning data: targets of a ladder, features of a CIF."""

from __future__ import annotations

from aiida import orm
from aiida.engine import calcfunction

from aiida_perovskite.analysis import TargetSettings, ladder_targets, structure_features


@calcfunction
def compute_targets(settings: orm.Dict, **summaries: orm.Dict) -> orm.Dict:
    """``Cp(U)`` with its standard error, ``V_atom`` per temperature and the quality flags of one material.

    :param settings: thresholds of the flags (``unstable_volume_std``, ``pe_trend_sigmas``; see
        :class:`aiida_perovskite.analysis.TargetSettings`), stored so every flag says how it was set.
    :param summaries: the ladder's per-temperature summaries (``T200``, ``T250``...).
    """
    return orm.Dict(ladder_targets([summary.get_dict() for summary in summaries.values()],
                                   TargetSettings(**settings.get_dict())))


@calcfunction
def compute_features(decomposition: orm.Dict) -> orm.Dict:
    """The structure features of a decomposed CIF (``family:name`` keys; see :mod:`aiida_perovskite.analysis.features`)."""
    return orm.Dict(structure_features(decomposition.get_dict()))
