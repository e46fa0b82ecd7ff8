"""The chemistry toolchain really runs: AmberTools on butylammonium, LAMMPS (serial and MPI), OpenMM.

No mocks: these tests exist to catch a tool that ``make install`` left unrunnable.
"""

from __future__ import annotations

import collections
import os
import re
import subprocess

import parmed
import pytest

from aiida_perovskite import toolchain
from aiida_perovskite.builder import alkylammonium


def run(tool: str, *arguments: str, cwd, timeout: float = 60) -> subprocess.CompletedProcess:
    """Run a tool in ``cwd`` with the toolchain's environment; fail the test with its output if it fails."""
    command = [str(toolchain.executable(tool)), *arguments]
    env = {**os.environ, **toolchain.environment()}
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, f'{" ".join(command)} failed:\n{result.stdout}\n{result.stderr}'
    return result


def write_pdb(path, symbols, coords) -> None:
    """A one-residue PDB (no bonds: antechamber infers them from distances)."""
    counts = collections.Counter()
    lines = []
    for serial, (element, (x, y, z)) in enumerate(zip(symbols, coords, strict=True), start=1):
        counts[element] += 1
        name = f'{element}{counts[element]}'
        position = f'{x:8.3f}{y:8.3f}{z:8.3f}'
        lines.append(f'HETATM{serial:5d} {name:<4} BUA A   1    {position}  1.00  0.00          {element:>2}')
    path.write_text('\n'.join(lines + ['END']) + '\n')


@pytest.fixture(scope='module')
def amber(tmp_path_factory):
    """Butylammonium through antechamber (AM1-BCC, GAFF), parmchk2 and tleap, once for the module."""
    folder = tmp_path_factory.mktemp('amber')
    write_pdb(folder / 'ba.pdb', *alkylammonium(4))
    files = ['-i', 'ba.pdb', '-fi', 'pdb', '-o', 'ba.mol2', '-fo', 'mol2', '-rn', 'BUA', '-pf', 'y']
    run('antechamber', *files, '-c', 'bcc', '-nc', '1', '-at', 'gaff', cwd=folder)
    run('parmchk2', '-i', 'ba.mol2', '-f', 'mol2', '-o', 'ba.frcmod', '-s', 'gaff', cwd=folder)
    (folder / 'leap.in').write_text(
        'source leaprc.gaff\n'
        'BUA = loadmol2 ba.mol2\n'
        'loadamberparams ba.frcmod\n'
        'saveamberparm BUA ba.prmtop ba.inpcrd\n'
        'quit\n'
    )
    leap = run('tleap', '-f', 'leap.in', cwd=folder)
    return folder, leap.stdout


def test_antechamber_bcc_gaff(amber):
    folder, _ = amber
    molecule = parmed.load_file(str(folder / 'ba.mol2'))  # OpenBabel cannot read GAFF-typed mol2
    types = collections.Counter(atom.type for atom in molecule.atoms)
    assert types == {'n4': 1, 'c3': 4, 'hn': 3, 'hx': 2, 'hc': 7}
    assert sum(atom.charge for atom in molecule.atoms) == pytest.approx(1.0, abs=0.01)
    assert len({round(atom.charge, 3) for atom in molecule.atoms}) > 3  # AM1-BCC, not a uniform spread


def test_parmchk2_writes_frcmod(amber):
    folder, _ = amber
    frcmod = (folder / 'ba.frcmod').read_text()
    assert frcmod.startswith('Remark line goes here')
    assert all(section in frcmod for section in ('MASS', 'BOND', 'ANGLE', 'DIHE', 'NONBON'))


def test_tleap_saves_prmtop(amber):
    folder, log = amber
    assert 'Errors = 0' in log, log
    assert (folder / 'ba.prmtop').stat().st_size > 0
    assert (folder / 'ba.inpcrd').stat().st_size > 0


def test_openmm_energy_of_tleap_prmtop(amber):
    import openmm  # the tests extra's independent referee
    from openmm import app, unit

    folder, _ = amber
    prmtop = app.AmberPrmtopFile(str(folder / 'ba.prmtop'))
    inpcrd = app.AmberInpcrdFile(str(folder / 'ba.inpcrd'))
    system = prmtop.createSystem(nonbondedMethod=app.NoCutoff)
    assert system.getNumParticles() == 17
    context = openmm.Context(system, openmm.VerletIntegrator(0.001), openmm.Platform.getPlatformByName('Reference'))
    context.setPositions(inpcrd.positions)
    energy = context.getState(getEnergy=True).getPotentialEnergy().value_in_unit(unit.kilocalories_per_mole)
    assert -1e3 < energy < 1e3  # an ideal geometry: finite and of molecular size


LJ_INPUT = """units lj
lattice fcc 0.8442
region box block 0 2 0 2 0 2
create_box 1 box
create_atoms 1 box
mass 1 1.0
pair_style lj/cut 2.5
pair_coeff 1 1 1.0 1.0
thermo_style custom step atoms pe
run 0
"""


def lj_energy(output: str, processes: int) -> float:
    """The potential energy of the thermo line after ``run 0``, checking the number of MPI ranks."""
    assert f'on {processes} procs' in output, output
    match = re.search(r'^\s*Step\s+Atoms\s+PotEng\s*\n\s*0\s+32\s+(\S+)', output, flags=re.MULTILINE)
    assert match, output
    return float(match[1])


def test_lammps_serial_and_mpi(tmp_path):
    (tmp_path / 'in.lj').write_text(LJ_INPUT)
    serial = lj_energy(run('lmp', '-in', 'in.lj', '-log', 'none', cwd=tmp_path).stdout, 1)
    lmp = str(toolchain.executable('lmp'))
    parallel = lj_energy(run('mpirun', '-np', '2', lmp, '-in', 'in.lj', '-log', 'none', cwd=tmp_path).stdout, 2)
    assert serial == pytest.approx(parallel, abs=1e-6)
    assert serial < 0
