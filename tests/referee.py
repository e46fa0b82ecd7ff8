"""An independent referee: OpenMM on the tleap prmtop against LAMMPS ``run 0`` on our data file.

Both see the organic molecules of one cell, alone, with no cut-off (OpenMM
NoCutoff; LAMMPS plain Coulomb and a cut-off larger than the cluster in a box
far larger still), so every energy term must agree to rounding.
"""

import pathlib
import subprocess

import numpy as np


def openmm_energies(prmtop: pathlib.Path, inpcrd: pathlib.Path) -> dict[str, float]:
    import openmm
    import openmm.app as app
    import openmm.unit as unit

    system = app.AmberPrmtopFile(str(prmtop)).createSystem(nonbondedMethod=app.NoCutoff, constraints=None)
    groups = {}
    for index, force in enumerate(system.getForces()):
        force.setForceGroup(index)
        groups[type(force).__name__] = index
    context = openmm.Context(system, openmm.VerletIntegrator(1.0), openmm.Platform.getPlatformByName('Reference'))
    context.setPositions(app.AmberInpcrdFile(str(inpcrd)).positions)

    def energy(name):
        state = context.getState(getEnergy=True, groups={groups[name]})
        return state.getPotentialEnergy().value_in_unit(unit.kilocalorie_per_mole)

    return {
        'bond': energy('HarmonicBondForce'),
        'angle': energy('HarmonicAngleForce'),
        'torsion': energy('PeriodicTorsionForce'),
        'nonbonded': energy('NonbondedForce'),
    }


def lammps_energies(prmtop: pathlib.Path, inpcrd: pathlib.Path, folder: pathlib.Path) -> dict[str, float]:
    import parmed

    from aiida_perovskite.forcefield.lammps import build_system
    from aiida_perovskite.toolchain import environment

    organic = parmed.load_file(str(prmtop), str(inpcrd))
    extent = np.ptp(organic.coordinates, axis=0).max()
    box = 4 * extent + 100
    system = build_system(organic, [], np.eye(3) * box, expected_charge=round(sum(a.charge for a in organic.atoms)))
    system.write_data(folder / 'data.lmp')
    (folder / 'forcefield.lmp').write_text(system.forcefield_script('data.lmp', cutoff=2 * extent + 10, coulomb='cut'))
    (folder / 'in.lmp').write_text(
        'include forcefield.lmp\n'
        'thermo_style custom step ebond eangle edihed eimp evdwl ecoul\n'
        'thermo_modify format float %.12g\n'
        'run 0\n'
    )
    completed = subprocess.run(
        ['lmp', '-in', 'in.lmp', '-log', 'none'], cwd=folder, env={**__import__('os').environ, **environment()},
        capture_output=True, text=True, check=True,
    )
    lines = completed.stdout.splitlines()
    header = next(index for index, line in enumerate(lines) if line.split()[:1] == ['Step'])
    values = dict(zip(lines[header].split(), map(float, lines[header + 1].split())))
    return {
        'bond': values['E_bond'],
        'angle': values['E_angle'],
        'torsion': values['E_dihed'] + values['E_impro'],
        'nonbonded': values['E_vdwl'] + values['E_coul'],
    }
