"""Reference labels from extended tight binding (tblite's GFN1-xTB or GFN2-xTB), plain Python.

:func:`label` runs tblite's ASE calculator on one configuration and returns its energy (eV), forces (eV/A),
stress (eV/A^3, ASE's sign: positive tensile) and Mulliken charges (e), with the settings that made them.
tblite samples only the Gamma point, so the energy per atom of a small periodic cell is not converged in
the cell size (on the ideal Cs2PbI4 crystal it moves by tenths of an eV per atom between 7-, 14- and
28-atom cells). ``replicate`` labels a configuration on its ``(a, b, c)`` supercell instead, which is the
same as sampling a ``a x b x c`` k-point grid of the configuration: energies are divided by the number of
copies and each atom's forces and charges are its mean over the copies (identical by symmetry, up to
the SCF's convergence).

The command line, run by ``XtbLabelCalculation`` on any computer::

    python -m aiida_perovskite.mlip.xtb settings.json configurations.extxyz [--relax --fmax 0.02 --max-steps 300]

writes ``labelled.extxyz`` (each frame with ``energy``, ``stress``, ``forces`` and ``charges``) and
``results.json`` (the settings, the tblite version, seconds and SCF failures per configuration). With
``--relax`` it relaxes each configuration with the reference instead (:func:`relaxed`: positions and cell) and
writes ``relaxed.extxyz`` (unlabelled: the cells to sample around) and one relaxation record per configuration.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import pathlib
import sys
import time

import numpy as np

#: Every labelling setting, with its value when not given.
DEFAULTS = {
    'method': 'GFN1-xTB',  # GFN1-xTB or GFN2-xTB
    'accuracy': 1.0,  # tblite's numerical accuracy (smaller is tighter)
    'electronic_temperature_k': 300.0,  # Fermi smearing
    'max_iterations': 250,  # SCF cycles
    'replicate': [1, 1, 1],  # label on this supercell (a k-point grid for the Gamma-only tblite)
}
METHODS = ('GFN1-xTB', 'GFN2-xTB')
#: Units of every label.
UNITS = {'energy': 'eV', 'forces': 'eV/A', 'stress': 'eV/A^3 (ASE sign, positive tensile, Voigt xx yy zz yz xz xy)',
         'charges': 'e (Mulliken)'}
SETTINGS = 'settings.json'
CONFIGURATIONS = 'configurations.extxyz'
LABELLED = 'labelled.extxyz'
RELAXED = 'relaxed.extxyz'
#: Relaxation settings (``--relax``, ``XtbLabelCalculation``'s ``relax`` input), with their values when not given.
RELAX_DEFAULTS = {'fmax': 0.02, 'max_steps': 300}  # eV/A; FIRE steps
RESULTS = 'results.json'


def validate_settings(settings: dict | None) -> dict:
    """``settings`` over :data:`DEFAULTS`; ``ValueError`` naming the wrong one."""
    settings = dict(settings or {})
    unknown = sorted(set(settings) - set(DEFAULTS))
    if unknown:
        raise ValueError(f'unknown labelling setting(s) {unknown}; known: {sorted(DEFAULTS)}')
    merged = {**DEFAULTS, **settings}
    if merged['method'] not in METHODS:
        raise ValueError(f'method must be one of {METHODS}, not {merged["method"]!r}')
    for key in ('accuracy', 'electronic_temperature_k'):
        if not float(merged[key]) > 0:
            raise ValueError(f'{key} must be positive, not {merged[key]!r}')
    replicate = [int(value) for value in merged['replicate']]
    if len(replicate) != 3 or min(replicate) < 1:
        raise ValueError(f'replicate must be three positive integers, not {merged["replicate"]!r}')
    merged['replicate'] = replicate
    merged['max_iterations'] = int(merged['max_iterations'])
    return merged


def record(settings: dict) -> dict:
    """What every labelled configuration carries of how it was labelled."""
    return {**validate_settings(settings), 'program': 'tblite', 'version': importlib.metadata.version('tblite'),
            'units': UNITS}


def calculator(settings: dict, charge: int = 0):
    """tblite's ASE calculator with ``settings`` (validated) for a cell of total ``charge`` (e)."""
    from tblite.ase import TBLite

    settings = validate_settings(settings)
    return TBLite(method=settings['method'], accuracy=float(settings['accuracy']), charge=int(charge),
                  electronic_temperature=float(settings['electronic_temperature_k']),
                  max_iterations=settings['max_iterations'], verbosity=0)


def label(atoms, settings: dict | None = None) -> dict:
    """Energy, forces, stress and Mulliken charges of ``atoms`` from tblite (see the module's units); a charged
    cell carries its total charge in ``atoms.info['charge']`` (tblite adds the neutralising background)."""
    settings = validate_settings(settings)
    copies = int(np.prod(settings['replicate']))
    work = atoms.repeat(settings['replicate']) if copies > 1 else atoms.copy()
    work.calc = calculator(settings, charge=copies * int(round(float(atoms.info.get('charge', 0)))))
    energy = float(work.get_potential_energy()) / copies
    n = len(atoms)
    # ASE's repeat lists the copies one after the other; the SCF may break their equivalence slightly, so each
    # atom gets its mean over the copies (which keeps every copy's total charge exact).
    return {
        'energy': energy,
        'forces': np.asarray(work.get_forces()).reshape(copies, n, 3).mean(axis=0),
        'stress': np.asarray(work.get_stress(voigt=True)).copy(),
        'charges': np.asarray(work.get_charges()).reshape(copies, n).mean(axis=0),
    }


def copies_deviation(supercell, n: int, replicate) -> float:
    """The largest distance (A) of an atom of ``supercell`` (ASE's ``repeat(replicate)`` of an ``n``-atom cell,
    perhaps moved since) from where the first copy, translated by its lattice vector, puts it: zero while
    the copies are one crystal of the small cell."""
    from ase.geometry import find_mic

    small = supercell.cell.array / np.asarray(replicate, float)[:, None]
    # ASE's repeat puts copy (m0, m1, m2) at index m0 r1 r2 + m1 r2 + m2, translated by (m0, m1, m2) @ cell.
    translations = np.array([(m0, m1, m2) for m0 in range(replicate[0]) for m1 in range(replicate[1])
                             for m2 in range(replicate[2])], float) @ small
    first = supercell.positions[:n]
    return max((float(np.linalg.norm(find_mic(supercell.positions[k * n:(k + 1) * n] - first - translations[k],
                                              supercell.cell, pbc=True)[0], axis=1).max())
                for k in range(1, len(translations))), default=0.0)


def relaxed(atoms, settings: dict | None = None, fmax: float = RELAX_DEFAULTS['fmax'],
            max_steps: int = RELAX_DEFAULTS['max_steps'], tolerance: float = 0.02):
    """``atoms`` relaxed with the reference itself, positions and cell free: the cell that configurations should
    be sampled around (a crystal built with textbook bonds can sit gigapascals away from the reference's own
    equilibrium). The relaxation runs on the ``replicate`` supercell (the labels' k-point grid, so the relaxed
    cell is size-converged like the labels) with ASE's FIRE and ``FrechetCellFilter``.

    If the copies stay equivalent (each the first one translated by its lattice vector, within ``tolerance``
    A), the first copy is returned in its own cell. If the relaxation broke the symmetry between them (octahedra
    that tilt need a larger cell than the ideal crystal's), one copy is not a crystal on its own, and the whole
    supercell is returned: label it with ``replicate`` 1 1 1 (it is already the labels' grid).

    :returns: ``(relaxed atoms, record)``: converged, steps, seconds, the largest force (eV/A) and stress (GPa)
        left, and ``supercell`` (the repeat returned: ``[1, 1, 1]`` or ``replicate``).
    """
    from ase import units
    from ase.filters import FrechetCellFilter
    from ase.optimize import FIRE

    settings = validate_settings(settings)
    replicate = settings['replicate']
    copies = int(np.prod(replicate))
    work = atoms.repeat(replicate)
    work.calc = calculator(settings, charge=copies * int(round(float(atoms.info.get('charge', 0)))))
    started = time.perf_counter()
    optimiser = FIRE(FrechetCellFilter(work), logfile=None)
    converged = bool(optimiser.run(fmax=fmax, steps=max_steps))
    n = len(atoms)
    small = work.cell.array / np.asarray(replicate, float)[:, None]
    deviation = copies_deviation(work, n, replicate)
    equivalent = deviation <= tolerance
    record = {'converged': converged, 'steps': int(optimiser.get_number_of_steps()),
              'seconds': round(time.perf_counter() - started, 1),
              'max_force_ev_a': float(np.abs(work.get_forces()).max()),
              'max_stress_gpa': float(np.abs(work.get_stress(voigt=True)).max() / units.GPa),
              'copies_deviation_a': deviation, 'supercell': [1, 1, 1] if equivalent else replicate,
              'method': settings['method'], 'replicate': replicate}
    if equivalent:
        result = atoms.copy()
        result.set_cell(small, scale_atoms=False)
        result.positions = work.positions[:n]
    else:
        result = atoms.repeat(replicate)
        result.set_cell(work.cell.array, scale_atoms=False)
        result.positions = work.positions
        if 'charge' in atoms.info:
            result.info['charge'] = copies * atoms.info['charge']
    result.calc = None
    result.wrap()
    result.info['origin'] = {**atoms.info.get('origin', {}), 'relaxed_with': settings['method'],
                             'relax_replicate': replicate, 'supercell': record['supercell']}
    return result, record


def validate_relax(relax: dict | None) -> dict:
    """Relaxation settings over :data:`RELAX_DEFAULTS`; ``ValueError`` naming the wrong one."""
    relax = dict(relax or {})
    unknown = sorted(set(relax) - set(RELAX_DEFAULTS))
    if unknown:
        raise ValueError(f'unknown relax setting(s) {unknown}; known: {sorted(RELAX_DEFAULTS)}')
    merged = {**RELAX_DEFAULTS, **relax}
    try:
        merged = {'fmax': float(merged['fmax']), 'max_steps': int(merged['max_steps'])}
    except (TypeError, ValueError):
        raise ValueError(f'relax settings must be numbers, not {relax}') from None
    if not (merged['fmax'] > 0 and merged['max_steps'] >= 1):
        raise ValueError(f'relax needs fmax > 0 and max_steps >= 1, not {relax}')
    return merged


def relax_all(configurations, settings: dict | None = None, relax: dict | None = None, progress=None):
    """Every configuration relaxed with :func:`relaxed` (``relax``: :data:`RELAX_DEFAULTS`); ``progress(done,
    total)`` after each. Returns ``(relaxed, records, failures)``: a configuration whose SCF fails is left out and
    named in ``failures``."""
    settings, relax = validate_settings(settings), validate_relax(relax)
    results, failures, _ = each_configuration(configurations, lambda atoms: relaxed(atoms, settings, **relax), progress)
    return ([atoms for _, (atoms, _) in results], [{'index': index, **entry} for index, (_, entry) in results],
            failures)


def sampling_cells(cells, settings: dict | None = None):
    """The cells to sample configurations around, and the labelling settings for them, from cells that
    :func:`relaxed` returned (``origin['supercell']``). If any is a whole relaxed supercell (its octahedra
    tilted), every cell becomes its ``replicate`` supercell and is labelled at Gamma (``replicate`` 1 1 1): the
    same k-point grid for all. Otherwise the cells and settings are returned as they are."""
    settings = validate_settings(settings)
    supercell = [list(atoms.info.get('origin', {}).get('supercell', [1, 1, 1])) for atoms in cells]
    if all(repeat == [1, 1, 1] for repeat in supercell):
        return list(cells), settings
    grids = {tuple(repeat) for repeat in supercell if repeat != [1, 1, 1]}
    if len(grids) > 1 or tuple(settings['replicate']) not in grids:
        raise ValueError(f'the relaxed cells are supercells {sorted(grids)} of different grids, or not the '
                         f'labelling replicate {settings["replicate"]}: relax them all with the same replicate')
    result = [atoms if repeat != [1, 1, 1] else atoms.repeat(settings['replicate'])
              for atoms, repeat in zip(cells, supercell)]
    return result, {**settings, 'replicate': [1, 1, 1]}


def labelled_atoms(atoms, labels: dict, settings: dict):
    """A copy of ``atoms`` carrying ``labels`` in the extended-XYZ way (info and arrays)."""
    result = atoms.copy()
    result.calc = None
    result.info['energy'] = labels['energy']
    result.info['stress'] = np.asarray(labels['stress'])
    result.info['label_method'] = settings['method']
    result.arrays['forces'] = np.asarray(labels['forces'])
    result.arrays['charges'] = np.asarray(labels['charges'])
    return result


def each_configuration(configurations, work, progress=None):
    """``work(atoms)`` on every configuration; ``progress(done, total)`` after each. Returns ``(results, failures,
    seconds)``: a configuration ``work`` raises on (tblite's or ASE's error on a failed SCF, or a ``ValueError`` of
    its own) is left out, its index and message in ``failures``."""
    results, failures, seconds = [], [], []
    for index, atoms in enumerate(configurations):
        started = time.perf_counter()
        try:
            results.append((index, work(atoms)))
        except Exception as error:  # noqa: BLE001  (tblite raises its own and ASE's errors on a failed SCF)
            failures.append({'index': index, 'message': f'{type(error).__name__}: {error}'.strip()})
        seconds.append(time.perf_counter() - started)
        if progress is not None:
            progress(index + 1, len(configurations))
    return results, failures, seconds


def label_all(configurations, settings: dict | None = None, progress=None):
    """Every configuration labelled; ``progress(done, total)`` after each. Returns ``(labelled, failures, seconds)``:
    a configuration whose SCF fails is left out and its index and message are in ``failures``."""
    settings = validate_settings(settings)

    def work(atoms):
        labels = label(atoms, settings)
        if not all(np.all(np.isfinite(np.asarray(value))) for value in labels.values()):
            raise ValueError('non-finite energy, forces, stress or charges')
        return labelled_atoms(atoms, labels, settings)

    results, failures, seconds = each_configuration(configurations, work, progress)
    return [atoms for _, atoms in results], failures, seconds


def write(path, configurations) -> None:
    """Configurations (with their ``origin`` as JSON text) to extended XYZ."""
    import ase.io

    frames = []
    for atoms in configurations:
        frame = atoms.copy()
        if isinstance(frame.info.get('origin'), dict):
            frame.info['origin'] = json.dumps(frame.info['origin'], sort_keys=True)
        frames.append(frame)
    ase.io.write(str(path), frames, format='extxyz')


def read(path) -> list:
    """Configurations written by :func:`write`, with their labels (if any) and ``origin`` as a dict."""
    import ase.io

    try:
        frames = ase.io.read(str(path), index=':', format='extxyz')
    except Exception as error:  # noqa: BLE001  (ASE raises anything from StopIteration to KeyError here)
        raise ValueError(f'cannot read the configurations {path}: {type(error).__name__} {error}'.strip()) from None
    for frame in frames:
        origin = frame.info.get('origin')
        if isinstance(origin, str):
            frame.info['origin'] = json.loads(origin)
        # ASE's reader hands energy, stress, forces (and charges) to a single-point calculator: back to the frame.
        results = frame.calc.results if frame.calc is not None else {}
        for key in ('energy', 'stress'):
            if key in results:
                frame.info[key] = np.asarray(results[key]) if key == 'stress' else float(results[key])
        for key in ('forces', 'charges'):
            if key in results:
                frame.arrays[key] = np.asarray(results[key])
        frame.calc = None
    return frames


def labelling_progress(done: int, total: int) -> None:
    print(f'labelled {done}/{total}', flush=True)


def write_labelled(labelled, total: int, failures: list, seconds: list, how: dict) -> None:
    """A labelling run's files in the working folder: the labelled configurations and ``results.json`` (``how``:
    the labels' record), and its one-line summary."""
    write(LABELLED, labelled)
    pathlib.Path(RESULTS).write_text(json.dumps({
        'record': how, 'n_configurations': total, 'n_labelled': len(labelled), 'failures': failures,
        'seconds': seconds}, indent=1))
    print(f'{len(labelled)} of {total} configurations labelled in {sum(seconds):.1f} s')


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog='python -m aiida_perovskite.mlip.xtb', description=__doc__.split('\n')[0])
    parser.add_argument('settings', type=pathlib.Path, help='JSON settings (see aiida_perovskite.mlip.xtb.DEFAULTS)')
    parser.add_argument('configurations', type=pathlib.Path, help='the configurations (extended XYZ)')
    parser.add_argument('--relax', action='store_true', help='relax each configuration (positions and cell) instead')
    parser.add_argument('--fmax', type=float, default=RELAX_DEFAULTS['fmax'], help='relaxation: largest force left (eV/A)')
    parser.add_argument('--max-steps', type=int, default=RELAX_DEFAULTS['max_steps'], help='relaxation: FIRE steps at most')
    args = parser.parse_args(argv)
    try:
        settings = validate_settings(json.loads(args.settings.read_text()))
        configurations = read(args.configurations)
    except (ValueError, FileNotFoundError) as error:
        print(f'error: {error}', file=sys.stderr)
        return 2

    if args.relax:
        def relaxing(done, total):
            print(f'relaxed {done}/{total}', flush=True)

        cells, records, failures = relax_all(configurations, settings, {'fmax': args.fmax, 'max_steps': args.max_steps},
                                             progress=relaxing)
        write(RELAXED, cells)
        pathlib.Path(RESULTS).write_text(json.dumps({
            'record': record(settings), 'n_configurations': len(configurations), 'n_relaxed': len(cells),
            'fmax_ev_a': args.fmax, 'max_steps': args.max_steps, 'relaxations': records, 'failures': failures,
            'seconds': [entry['seconds'] for entry in records]}, indent=1))
        converged = sum(entry['converged'] for entry in records)
        print(f'{len(cells)} of {len(configurations)} configurations relaxed ({converged} converged)')
        return 0

    labelled, failures, seconds = label_all(configurations, settings, progress=labelling_progress)
    write_labelled(labelled, len(configurations), failures, seconds, record(settings))
    return 0


if __name__ == '__main__':
    sys.exit(main())
