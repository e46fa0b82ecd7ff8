"""Command-line driver of the MLIP engine: settings and structure files in, result files out.

    python -m aiida_perovskite.mlip.driver settings.json structure.extxyz

run in a folder (the CalcJob's working directory, or any folder). It writes, beside the inputs:

- ``results.json``: status (converged, not_converged, broken), the potential's record, energy, stress
  (GPa), forces (eV/A), volume, and one summary per stage reached;
- ``relaxed.extxyz``: the last configuration with its energy, forces and stress;
- ``<stage>.traj``: the ASE trajectory of each stage. When these exist already (a restart), the run
  continues from them (see :mod:`aiida_perovskite.mlip.relax`).

The exit status is 0 whenever ``results.json`` was written, whatever the run's status: the status is
in the file. An error (bad settings, a potential that cannot load) exits non-zero with its message on
stderr and writes no ``results.json``.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import sys

import numpy as np

RESULTS = 'results.json'
RELAXED = 'relaxed.extxyz'
SETTINGS = 'settings.json'
STRUCTURE = 'structure.extxyz'


def result_document(result: dict, settings: dict) -> dict:
    """The JSON-ready part of :func:`~aiida_perovskite.mlip.relax.run_stages`'s result."""
    from .relax import max_force, stress_gpa

    atoms = result['atoms']
    energy = float(atoms.get_potential_energy())
    stress = stress_gpa(atoms)
    forces = np.asarray(atoms.get_forces())
    return {
        'status': result['status'],
        'stage': result['stage'],
        'broken': result['broken'],
        'potential': result['potential'],
        'n_atoms': len(atoms),
        'energy_ev': energy,
        'energy_per_atom_ev': energy / len(atoms),
        'stress_gpa': [float(value) for value in stress],  # Voigt: xx, yy, zz, yz, xz, xy; positive tensile
        'pressure_gpa': float(-stress[:3].mean()),
        'max_force_ev_a': max_force(forces),
        'volume_a3': float(atoms.get_volume()),
        'input_volume_a3': float(result['input_volume_a3']),
        'volume_change': float(atoms.get_volume() / result['input_volume_a3'] - 1),
        'cell': atoms.cell.array.tolist(),
        'forces_ev_a': forces.tolist(),
        'stages': result['stages'],
        'steps_this_run': result['steps_this_run'],
        'seconds': result['seconds'],
        'seconds_per_step': result['seconds_per_step'],
        'settings': settings,
    }


def run(settings_file: pathlib.Path, structure_file: pathlib.Path, folder: pathlib.Path, log=None) -> dict:
    """Run the engine as the command line does; return the document written to ``results.json``."""
    import ase.io

    from .potentials import load_potential
    from .relax import run_stages, validate_settings

    settings = validate_settings(json.loads(pathlib.Path(settings_file).read_text()))
    try:
        atoms = ase.io.read(str(structure_file), format='extxyz')
    except Exception as error:  # noqa: BLE001  (ASE raises anything from StopIteration to KeyError here)
        raise ValueError(f'cannot read the structure {structure_file}: {type(error).__name__} {error}'.strip()) from None
    calculator, record = load_potential(settings['potential'], settings['dispersion'], settings['device'])
    result = run_stages(atoms, settings, folder, calculator, record, log=log)
    document = result_document(result, settings)
    ase.io.write(str(folder / RELAXED), result['atoms'], format='extxyz')
    (folder / RESULTS).write_text(json.dumps(document, indent=1))
    return document


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog='python -m aiida_perovskite.mlip.driver', description=__doc__.split('\n')[0])
    parser.add_argument('settings', type=pathlib.Path, help='JSON settings (see aiida_perovskite.mlip.relax.DEFAULTS)')
    parser.add_argument('structure', type=pathlib.Path, help='the input structure (extended XYZ)')
    parser.add_argument('--folder', type=pathlib.Path, default=pathlib.Path('.'),
                        help='where the trajectories and results go (default: here)')
    parser.add_argument('--log', default='-', help='optimiser log file (default: standard output)')
    args = parser.parse_args(argv)
    try:
        document = run(args.settings, args.structure, args.folder, log=args.log)
    except (ValueError, FileNotFoundError) as error:
        print(f'error: {error}', file=sys.stderr)
        return 2
    print(f'status {document["status"]}; energy {document["energy_per_atom_ev"]:.4f} eV/atom; '
          f'volume change {document["volume_change"]:+.2%}; {document["steps_this_run"]} steps')
    return 0


if __name__ == '__main__':
    sys.exit(main())
