"""Label a set of configurations with a pretrained MLIP: energy, forces and stress of each, no relaxation.

    python -m aiida_perovskite.mlip.label settings.json configurations.extxyz

run in a folder (``MlipLabelCalculation``'s working directory, or any folder). The potential loads once for the
whole set, so a set of many cells costs one start-up (about 8 s of torch and weights) and one force call each.
What the structure search uses it for: ranking every classical minimum by the MLIP's energy before only a few
are relaxed with it. It writes the same files as the xTB labelling (:mod:`aiida_perovskite.mlip.xtb`):
``labelled.extxyz`` (each configuration with ``energy``, ``stress`` and ``forces``, its ``origin`` kept) and
``results.json`` (the potential's record, counts, failures, seconds per configuration). A configuration whose
energy, forces or stress come out non-finite is left out and named; bad settings or unreadable configurations
exit with status 2 and the message on stderr, writing nothing.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import sys

import numpy as np

from .xtb import (
    CONFIGURATIONS,
    LABELLED,
    RESULTS,
    SETTINGS,
    each_configuration,
    labelling_progress,
    read,
    write_labelled,
)

__all__ = ('CONFIGURATIONS', 'DEFAULTS', 'LABELLED', 'RESULTS', 'SETTINGS', 'UNITS', 'label_all', 'validate_settings')

#: Every setting, with its value when not given.
DEFAULTS = {
    'potential': 'sevennet+d3',  # a packaged potential, optionally +d3 (aiida_perovskite.mlip.potentials)
    'dispersion': {},  # D3 settings over potentials.D3_DEFAULTS
    'device': 'cpu',  # cpu, cuda, auto
}
UNITS = {'energy': 'eV', 'forces': 'eV/A', 'stress': 'eV/A^3 (ASE sign, positive tensile, Voigt xx yy zz yz xz xy)'}


def validate_settings(settings: dict | None) -> dict:
    """``settings`` over :data:`DEFAULTS`; ``ValueError`` naming the wrong one."""
    from .potentials import QEQ_PREFIX, dispersion_settings, parse_name

    settings = dict(settings or {})
    unknown = sorted(set(settings) - set(DEFAULTS))
    if unknown:
        raise ValueError(f'unknown labelling setting(s) {unknown}; known: {sorted(DEFAULTS)}')
    merged = {**DEFAULTS, **settings}
    if str(merged['potential']).startswith(QEQ_PREFIX):
        raise ValueError('a trained QEq potential labels through its own node (validate --engine), not here')
    parse_name(merged['potential'])
    merged['dispersion'] = dispersion_settings(merged['dispersion'])
    if merged['device'] not in ('cpu', 'cuda', 'auto'):
        raise ValueError(f'device must be cpu, cuda or auto, not {merged["device"]!r}')
    return merged


def label_all(configurations, calculator, progress=None):
    """Every configuration with the calculator's energy, forces and stress; ``progress(done, total)`` after each.
    Returns ``(labelled, failures, seconds)``: a configuration whose labels are not finite is left out and named."""

    def work(atoms):
        atoms = atoms.copy()
        atoms.calc = calculator
        energy = float(atoms.get_potential_energy())
        forces = np.asarray(atoms.get_forces())
        stress = np.asarray(atoms.get_stress(voigt=True))
        if not (np.isfinite(energy) and np.all(np.isfinite(forces)) and np.all(np.isfinite(stress))):
            raise ValueError('non-finite energy, forces or stress')
        atoms.calc = None
        atoms.info['energy'] = energy
        atoms.info['stress'] = stress
        atoms.arrays['forces'] = forces
        return atoms

    results, failures, seconds = each_configuration(configurations, work, progress)
    return [atoms for _, atoms in results], failures, seconds


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog='python -m aiida_perovskite.mlip.label', description=__doc__.split('\n')[0])
    parser.add_argument('settings', type=pathlib.Path, help='JSON settings (see aiida_perovskite.mlip.label.DEFAULTS)')
    parser.add_argument('configurations', type=pathlib.Path, help='the configurations (extended XYZ)')
    args = parser.parse_args(argv)
    try:
        settings = validate_settings(json.loads(args.settings.read_text()))
        configurations = read(args.configurations)
    except (ValueError, FileNotFoundError) as error:
        print(f'error: {error}', file=sys.stderr)
        return 2
    from .potentials import load_potential

    calculator, record = load_potential(settings['potential'], settings['dispersion'], settings['device'])

    labelled, failures, seconds = label_all(configurations, calculator, progress=labelling_progress)
    write_labelled(labelled, len(configurations), failures, seconds,
                   {**record, 'program': 'aiida_perovskite.mlip.label', 'method': settings['potential'],
                    'settings': settings, 'units': UNITS})
    return 0


if __name__ == '__main__':
    sys.exit(main())
