"""Broken physics: a simulated cell whose octahedra came apart or whose volume ran away.

Plain Python (no AiiDA). A force field that does not hold a material together still yields numbers
(a mean cell, a potential-energy slope); this check turns them into a flag with its reasons, which
the work chains record on their nodes (exit code ``ERROR_BROKEN_PHYSICS``) and the command line
shows, instead of reporting such a run as a success.

Two criteria, each against the input cell by the same measure:

- **octahedra**: the share of metals whose six nearest halides lie within
  :data:`~aiida_perovskite.analysis.validation.OCTAHEDRON_STRETCH` times the input cell's own
  metal-halide bond, in the quenched final configuration (thermal vibrations minimised away), fell
  more than ``max_octahedra_loss`` below the input cell's share (0.5 by default: half of the
  inorganic framework gone; the broken bromide runs of issue 15 kept none);
- **volume**: the mean volume moved more than ``max_volume_change`` from the input cell's (0.25
  by default: a loose bound, meant to catch a runaway (a cell that melts, collapses or blows up)
  rather than a force field that misses the experimental cell by several percent, which the
  validation table reports as a deviation; thermal expansion over the ladder is a few percent).
"""

from __future__ import annotations

import dataclasses
import math

__all__ = ('PhysicsChecks', 'physics_check')


@dataclasses.dataclass(frozen=True)
class PhysicsChecks:
    """Thresholds of the broken-physics flag."""

    #: Largest drop of the intact-octahedra share below the input cell's (0..1).
    max_octahedra_loss: float = 0.5
    #: Largest relative change ``abs(V / V_input - 1)`` of the mean volume.
    max_volume_change: float = 0.25

    def __post_init__(self):
        for name in ('max_octahedra_loss', 'max_volume_change'):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and value > 0):
                raise ValueError(f'{name} must be a positive number, not {value!r}')

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)


def physics_check(octahedra: dict | None, volume_changes: dict, settings: PhysicsChecks | None = None) -> dict:
    """Whether a simulated cell broke, and why.

    :param octahedra: :func:`~aiida_perovskite.analysis.validation.octahedra_check` of the final cell
        with ``reference_share`` (the input cell's share), or None when unknown.
    :param volume_changes: relative volume change ``V / V_input - 1`` by label (e.g. ``'250 K'``).
    :returns: ``broken``, ``problems`` (one sentence each), ``octahedra_share``, ``reference_share``,
        ``volume_change`` (the largest in magnitude, None when none is given) and ``settings``.
    """
    settings = settings or PhysicsChecks()
    problems = []
    share = reference = None
    if octahedra is not None:
        share, reference = octahedra.get('share'), octahedra.get('reference_share')
        if share is not None and reference is not None and not (math.isnan(share) or math.isnan(reference)):
            if reference - share > settings.max_octahedra_loss:
                problems.append(f'octahedra broke: {share:.0%} intact against {reference:.0%} in the input cell '
                                f'(bound: a loss of {settings.max_octahedra_loss:.0%})')
    worst_label, worst = None, None
    for label, change in volume_changes.items():
        change = float(change)
        if not math.isfinite(change):
            worst_label, worst = label, change
            break
        if worst is None or abs(change) > abs(worst):
            worst_label, worst = label, change
    if worst is not None and not (math.isfinite(worst) and abs(worst) <= settings.max_volume_change):
        problems.append(f'volume ran away: {worst:+.1%} from the input cell at {worst_label} '
                        f'(bound {settings.max_volume_change:.0%})')
    return {
        'broken': bool(problems),
        'problems': problems,
        'octahedra_share': share,
        'reference_share': reference,
        'volume_change': worst,
        'settings': settings.as_dict(),
    }
