"""Per-temperature statistics of a thermo series (the quantities the targets are built from)."""

from __future__ import annotations

import numpy as np

from .blocking import block_average, fluctuation_heat_capacity

#: Our names of the thermo columns, in the order of ``thermo_style`` (LAMMPS prints Step, Temp, PotEng...).
THERMO_COLUMNS = ('step', 'temp', 'pe', 'ke', 'etotal', 'press', 'vol', 'lx', 'ly', 'lz', 'xy', 'xz', 'yz',
                  'pxx', 'pyy', 'pzz', 'pxy', 'pxz', 'pyz')

_AVERAGED = ('temp', 'press', 'lx', 'ly', 'lz', 'xy', 'xz', 'yz', 'pxx', 'pyy', 'pzz', 'pxy', 'pxz', 'pyz')


def merge_series(series: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """Concatenate thermo series in order; where steps repeat (a continuation re-prints the step it
    starts from, or re-runs steps after a hard kill) the later series wins, so each step appears once."""
    by_step: dict[int, int] = {}
    merged = {name: [] for name in THERMO_COLUMNS}
    for part in series:
        for row in range(len(part['step'])):
            step = int(part['step'][row])
            if step in by_step:
                index = by_step[step]
                for name in THERMO_COLUMNS:
                    merged[name][index] = part[name][row]
                continue
            by_step[step] = len(merged['step'])
            for name in THERMO_COLUMNS:
                merged[name].append(part[name][row])
    order = np.argsort(merged['step'], kind='stable')
    return {name: np.asarray(values, dtype=float)[order] for name, values in merged.items()}


def summarise_temperature(
    thermo: dict[str, np.ndarray],
    n_atoms: int,
    start_step: int,
    end_step: int,
    equilibration_cut: int,
    temperature: float | None = None,
    pressure: float = 1.0,
) -> dict:
    """Mean and standard deviation of the sampled quantities of one temperature.

    Samples are the rows with ``start_step + equilibration_cut < step <= end_step``; potential
    energy and volume are divided by the number of atoms. The means of the potential energy and the
    volume per atom also get their block-averaged standard errors (``*_sem``, autocorrelation-aware; see
    :mod:`aiida_perovskite.simulation.blocking`), the energy's drift within the samples (:func:`energy_drift`),
    and, given the set-point ``temperature`` (K) and
    ``pressure`` (atm), the NPT fluctuation estimate of ``d<U>/dT`` per atom (``cp_fluctuation``, with
    ``cp_fluctuation_sem``).
    """
    steps = thermo['step']
    chosen = (steps > start_step + equilibration_cut) & (steps <= end_step)
    if not chosen.any():
        raise ValueError(f'no thermo samples between step {start_step + equilibration_cut} and {end_step}')
    record = {
        'n_samples': int(chosen.sum()),
        'first_sample_step': int(steps[chosen][0]),
        'last_sample_step': int(steps[chosen][-1]),
        'n_atoms': int(n_atoms),
    }
    quantities = {'pe_per_atom': thermo['pe'] / n_atoms, 'volume_per_atom': thermo['vol'] / n_atoms}
    quantities.update({name: thermo[name] for name in _AVERAGED})
    for name, values in quantities.items():
        record[f'{name}_mean'] = float(np.mean(values[chosen]))
        record[f'{name}_std'] = float(np.std(values[chosen], ddof=1)) if chosen.sum() > 1 else 0.0
    for name in ('pe_per_atom', 'volume_per_atom'):
        record.update(block_average(quantities[name][chosen]).as_dict(name))
    record.update(energy_drift(quantities['pe_per_atom'][chosen]))
    if temperature is not None:
        record.update(fluctuation_heat_capacity(thermo['pe'][chosen], thermo['vol'][chosen], temperature, n_atoms,
                                                pressure))
    return _finite_or_none(record)


def _finite_or_none(record: dict) -> dict:
    """NaN (an undefined error: too few samples) as None, which JSON and AiiDA's Dict store."""
    return {key: None if isinstance(value, float) and not np.isfinite(value) else value
            for key, value in record.items()}


def as_columns(columns: list[str], rows: np.ndarray) -> dict[str, np.ndarray]:
    """A parsed log's rows as named columns (our names), checking they are the expected ones."""
    if len(columns) != len(THERMO_COLUMNS):
        raise ValueError(f'expected {len(THERMO_COLUMNS)} thermo columns, found {columns}')
    return {name: rows[:, index] for index, name in enumerate(THERMO_COLUMNS)}


def energy_drift(energies) -> dict:
    """How far the mean of the second half of the samples lies from the first half's (``pe_per_atom_drift``),
    with the error that difference would have if the series were stationary (``pe_per_atom_drift_sem``:
    sqrt(2) times the block-averaged error of the second half's mean).

    A cell that is still relaxing (a structure far from the force field's minimum settling, a layer tearing)
    moves its mean energy through the run; a stationary one does not beyond its noise. The noise is taken
    from the second half, where a settling cell is closer to stationary: blocking a half that holds the
    transient would count the transient as noise. Blocking cannot see a drift slower than the run; this can.
    """
    values = np.asarray(energies, dtype=float)
    half = values.size // 2
    second = block_average(values[half:])
    return {'pe_per_atom_drift': float(second.mean - np.mean(values[:half])) if half else float('nan'),
            'pe_per_atom_drift_sem': float(np.sqrt(2.0) * second.stderr)}
