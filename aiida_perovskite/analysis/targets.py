"""Targets of the method (SPEC section 4) from per-temperature summaries, with its quality flags.

``Cp(U)`` is the least-squares slope of the mean potential energy per atom against the
temperature over the whole ladder; ``V_atom`` is the mean volume per atom at each temperature.

Its error, ``cp_u_stderr``, is the sampling error of the slope: the block-averaged (autocorrelation-aware)
standard errors of the temperatures' mean energies propagated through the least-squares weights. It is
defined from two temperatures on, and it is the noise a model of ``Cp(U)`` cannot beat. The scatter of
the means about the line (``cp_u_fit_stderr``, the method's error, undefined for two temperatures) also
holds any curvature of U(T). Beside the slope, the NPT fluctuation estimate ``cov(U, H) / (k_B T^2)`` of
each temperature is recorded (``cp_fluctuation``), with their inverse-variance mean
(``cp_u_fluctuation``) and its combination with the slope (``cp_u_combined``), each with its error;
``benchmarks/cp_estimators.py`` compares them per simulated nanosecond.
A ladder run with X-H bonds held rigid (``shake``) has ``cp_u``, ``cp_u_fluctuation`` and ``cp_u_combined``
(not the per-temperature ``cp_fluctuation``) corrected by what the constraints remove (:func:`constraint_shift`, recorded as ``cp_u_constraint_shift``; 0 without them), so
its ``Cp(U)`` compares with an unconstrained run's.
Quality flags are recorded beside the values, never applied silently:

- ``unstable``: the time standard deviation of the volume per atom, averaged over the
  temperatures, is above ``unstable_volume_std`` (the method's 0.10 A^3/atom). Volume
  fluctuations per atom fall as one over the square root of the number of atoms, so the
  standard deviation is first scaled to the method's cell size (``reference_atoms``, its
  4,212-atom 3x3x3 cells): without that every 464-atom screening cell would be flagged
  (measured: 0.09-0.25 A^3/atom on dj-dft cells that are stable);
- ``pe_off_trend``: a temperature's mean potential energy per atom lies further from the
  fitted line than ``pe_trend_sigmas`` times that temperature's own time standard deviation,
  or the slope is not positive (a collapsing or exploding run, not a smooth heat capacity);
- ``pe_drift``: a temperature's mean potential energy per atom moved between the first and the second half
  of its samples by more than ``pe_drift_sigmas`` times the error of that difference: the cell was still
  relaxing while it was sampled, so its slope holds the relaxation as well as the heat capacity;
- population outliers (the method's Figure 8: a material whose potential energy per atom sits
  far from all others) need the whole dataset: :func:`population_outliers`.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from aiida_perovskite.simulation.blocking import BOLTZMANN_KCAL_MOL, inverse_variance_mean, slope_stderr

__all__ = ('TargetSettings', 'constraint_shift', 'ladder_targets', 'population_outliers', 'potential_energy_slope')


@dataclasses.dataclass(frozen=True)
class TargetSettings:
    """The thresholds of the quality flags (the method's values by default)."""

    unstable_volume_std: float = 0.10
    #: Atoms of the cells the threshold was set for (None: compare the standard deviation as it is).
    reference_atoms: int | None = 4212
    pe_trend_sigmas: float = 1.0
    #: A temperature whose mean energy moved by more than this many of its errors between the first and the
    #: second half of its samples flags the material as still relaxing (``pe_drift``).
    pe_drift_sigmas: float = 3.0

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)


def potential_energy_slope(temperatures, energies) -> dict:
    """Ordinary least-squares line ``energy = intercept + slope * T`` with the slope's standard error.

    With two temperatures the line is exact and the standard error is undefined (NaN).
    """
    t = np.asarray(temperatures, dtype=float)
    e = np.asarray(energies, dtype=float)
    if t.size < 2 or np.ptp(t) == 0:
        raise ValueError('the slope needs at least two different temperatures')
    slope, intercept = np.polyfit(t, e, 1)
    residuals = e - (intercept + slope * t)
    dof = t.size - 2
    stderr = float(np.sqrt(residuals @ residuals / dof / np.sum((t - t.mean()) ** 2))) if dof > 0 else float('nan')
    return {'slope': float(slope), 'stderr': stderr, 'intercept': float(intercept), 'residuals': residuals.tolist()}


def ladder_targets(summaries: list[dict], settings: TargetSettings | None = None) -> dict:
    """Targets and flags of one material from its per-temperature summaries (any order).

    Each summary has ``temperature``, ``pe_per_atom_mean``/``_std`` and
    ``volume_per_atom_mean``/``_std`` (see :func:`aiida_perovskite.simulation.summary.summarise_temperature`).
    Energies are in the LAMMPS ``real`` units of the run: kcal/mol per atom, so ``cp_u`` is in
    kcal/mol/K per atom; volumes in A^3 per atom.
    """
    settings = settings or TargetSettings()
    if not summaries:
        raise ValueError('no temperature summaries')
    ordered = sorted(summaries, key=lambda summary: summary['temperature'])
    temperatures = [float(summary['temperature']) for summary in ordered]
    pe = np.array([summary['pe_per_atom_mean'] for summary in ordered])
    pe_std = np.array([summary['pe_per_atom_std'] for summary in ordered])
    volume = [float(summary['volume_per_atom_mean']) for summary in ordered]
    volume_std = [float(summary['volume_per_atom_std']) for summary in ordered]
    if len(set(temperatures)) > 1:
        fit = potential_energy_slope(temperatures, pe)
        off_trend = [t for t, residual, width in zip(temperatures, fit['residuals'], pe_std)
                     if abs(residual) > settings.pe_trend_sigmas * width]
    else:  # a single temperature has V_atom but no slope: Cp(U) is missing, not an error
        fit = {'slope': None, 'stderr': float('nan'), 'intercept': None}
        off_trend = []
    errors = _estimator_errors(ordered, temperatures, fit)
    drifting = [t for t, summary in zip(temperatures, ordered)
                if summary.get('pe_per_atom_drift') is not None and summary.get('pe_per_atom_drift_sem')
                and abs(summary['pe_per_atom_drift']) > settings.pe_drift_sigmas * summary['pe_per_atom_drift_sem']]
    shift = constraint_shift(ordered)
    for key in ('cp_u_fluctuation', 'cp_u_combined'):
        if errors[key] is not None:
            errors[key] += shift
    mean_volume_std = float(np.mean(volume_std))
    n_atoms = int(ordered[0].get('n_atoms', 0))
    scaled_volume_std = mean_volume_std
    if settings.reference_atoms and n_atoms:
        scaled_volume_std = mean_volume_std * float(np.sqrt(n_atoms / settings.reference_atoms))
    return {
        'temperatures': temperatures,
        'cp_u': None if fit['slope'] is None else fit['slope'] + shift,
        'cp_u_constraint_shift': shift,
        **errors,
        'pe_intercept': fit['intercept'],
        'pe_per_atom': pe.tolist(),
        'pe_per_atom_std': pe_std.tolist(),
        'v_atom': volume,
        'v_atom_std': volume_std,
        'mean_volume_std': mean_volume_std,
        'scaled_volume_std': scaled_volume_std,
        'n_atoms': n_atoms,
        'flags': {
            'unstable': scaled_volume_std > settings.unstable_volume_std,
            'pe_off_trend': bool(off_trend) or (fit['slope'] is not None and fit['slope'] <= 0),
            'pe_drift': bool(drifting),
        },
        'pe_off_trend_temperatures': off_trend,
        'pe_drift_temperatures': drifting,
        'pe_per_atom_drift': [summary.get('pe_per_atom_drift') for summary in ordered],
        'settings': settings.as_dict(),
        'units': {'cp_u': 'kcal/mol/K per atom', 'pe_per_atom': 'kcal/mol per atom', 'v_atom': 'A^3 per atom'},
    }


def constraint_shift(summaries: list[dict]) -> float:
    """What rigid X-H bonds take from ``d<U>/dT`` per atom, to be added back: ``k_B / 2`` per constraint.

    A harmonic bond holds ``k_B T / 2`` of potential energy on average; a ladder run with ``shake`` holds
    ``n_constraints`` of them rigid (each summary records how many), so its slope is short by
    ``n_constraints / n_atoms * k_B / 2`` (kcal/mol/K per atom). ``benchmarks/screening_protocol.py``
    checks this against unconstrained runs of the same materials.
    """
    counts = {int(summary.get('n_constraints', 0) or 0) for summary in summaries}
    if len(counts) > 1:
        raise ValueError(f'the temperatures of one ladder held different numbers of bonds rigid: {sorted(counts)}')
    count = counts.pop()
    if not count:
        return 0.0
    return count / int(summaries[0]['n_atoms']) * BOLTZMANN_KCAL_MOL / 2


def _estimator_errors(ordered: list[dict], temperatures: list[float], fit: dict) -> dict:
    """``cp_u_stderr`` and the other estimators of ``Cp(U)`` with their errors, from what the summaries hold.

    Summaries written before block averaging (no ``pe_per_atom_sem``) keep the fit's scatter as the error.
    """
    fit_stderr = None if fit['slope'] is None or np.isnan(fit['stderr']) else fit['stderr']
    sems = [summary.get('pe_per_atom_sem') for summary in ordered]
    fluctuations = [summary.get('cp_fluctuation') for summary in ordered]
    fluctuation_sems = [summary.get('cp_fluctuation_sem') for summary in ordered]
    sampling = None
    if fit['slope'] is not None and all(sem is not None for sem in sems):
        sampling = slope_stderr(temperatures, sems)
    fluctuation, fluctuation_stderr = inverse_variance_mean(
        [np.nan if value is None else value for value in fluctuations],
        [np.nan if value is None else value for value in fluctuation_sems],
    )
    combined, combined_stderr = inverse_variance_mean(
        [np.nan if fit['slope'] is None else fit['slope'], fluctuation],
        [np.nan if sampling is None else sampling, fluctuation_stderr],
    )

    def defined(value):
        return None if value is None or not np.isfinite(value) else float(value)

    return {
        'cp_u_stderr': defined(sampling) if sampling is not None else fit_stderr,
        'cp_u_stderr_method': 'block_averaged_sampling' if sampling is not None else 'fit_residuals',
        'cp_u_fit_stderr': fit_stderr,
        'pe_per_atom_sem': sems,
        'cp_fluctuation': fluctuations,
        'cp_fluctuation_sem': fluctuation_sems,
        'cp_u_fluctuation': defined(fluctuation),
        'cp_u_fluctuation_stderr': defined(fluctuation_stderr),
        'cp_u_combined': defined(combined),
        'cp_u_combined_stderr': defined(combined_stderr),
    }


def population_outliers(values: dict, scale: float = 5.0) -> set:
    """Keys whose value lies more than ``scale`` scaled median absolute deviations from the median.

    The method's potential-energy outliers (its Figure 8) stood far from every other material;
    the median and the MAD are not pulled by the outliers themselves. Fewer than 5 values: none.
    """
    if len(values) < 5:
        return set()
    data = np.array(list(values.values()), dtype=float)
    median = np.median(data)
    mad = 1.4826 * np.median(np.abs(data - median))
    if mad == 0:
        return set()
    return {key for key, value in values.items() if abs(value - median) > scale * mad}
