"""An independent referee: OpenMM, built here, against LAMMPS ``run 0`` on the project's own files.

Two checks. :func:`openmm_energies` / :func:`lammps_energies`: the organic molecules of one
cell, alone, with no cut-off (OpenMM NoCutoff on the tleap prmtop; LAMMPS plain Coulomb and a
cut-off larger than the cluster in a box far larger still), so every energy term must agree to
rounding. :func:`whole_system_energies` / :func:`lammps_run0`: the whole periodic cell (organic
terms, ions, Buckingham and Lennard-Jones ion-organic cross terms, Ewald Coulomb), OpenMM built by
:func:`whole_system` from the prmtop and the parameter set's YAML alone, nothing taken from the LAMMPS
files (``benchmarks/openmm_gpu.py`` runs the same build on a GPU).
"""

import os
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

    organic = parmed.load_file(str(prmtop), str(inpcrd))
    extent = np.ptp(organic.coordinates, axis=0).max()
    box = 4 * extent + 100
    system = build_system(organic, [], np.eye(3) * box, expected_charge=round(sum(a.charge for a in organic.atoms)))
    system.write_data(folder / 'data.lmp')
    (folder / 'forcefield.lmp').write_text(system.forcefield_script('data.lmp', cutoff=2 * extent + 10, coulomb='cut'))
    values = _run0(folder, 'ebond eangle edihed eimp evdwl ecoul')
    return {
        'bond': values['E_bond'],
        'angle': values['E_angle'],
        'torsion': values['E_dihed'] + values['E_impro'],
        'nonbonded': values['E_vdwl'] + values['E_coul'],
    }


def _run0(folder: pathlib.Path, keywords: str) -> dict[str, float]:
    """``include forcefield.lmp`` and ``run 0`` with the lmp binary the project uses; the thermo values by name."""
    from aiida_perovskite.toolchain import environment

    (folder / 'in.lmp').write_text(
        'include forcefield.lmp\n'
        f'thermo_style custom step {keywords}\n'
        'thermo_modify format float %.12g\n'
        'run 0\n'
    )
    completed = subprocess.run(
        ['lmp', '-in', 'in.lmp', '-log', 'none'], cwd=folder, env={**os.environ, **environment()},
        capture_output=True, text=True, check=True,
    )
    lines = completed.stdout.splitlines()
    header = next(index for index, line in enumerate(lines) if line.split()[:1] == ['Step'])
    return dict(zip(lines[header].split(), map(float, lines[header + 1].split())))


# --- The whole periodic system: organic terms, ions, ion-organic cross terms and Ewald Coulomb ---------------

#: Where the parameter sets' YAML lives; the referee reads it raw, not through the package's ParameterSet.
SETS = pathlib.Path(__file__).resolve().parents[1] / 'aiida_perovskite' / 'forcefield' / 'sets'
KCAL = 4.184  # kJ per kcal
COMPONENTS = ('bond', 'angle', 'torsion', 'vdw', 'coulomb')


def _pair_tables(parameters: dict, classes: list[str]):
    """Per class pair: Buckingham (A, 1/rho, C), tabulated LJ (epsilon, sigma) and whether LJ is mixed per atom.

    ``classes``: ion elements, then the organic classes C, N, S, ... and H_N / H_C (hydrogen on N / on C).
    Written from the set's YAML and the description in its header, independently of
    ``ParameterSet.ion_organic_pair``: organic-organic pairs mix per atom (AMBER's Lorentz-Berthelot);
    a ``lorentz-berthelot`` set mixes its listed ions with every organic atom (UFF D, x: sigma = x / 2^(1/6));
    any other ion-organic pair is the tabulated Buckingham (by element) or Lennard-Jones (ion-H by class),
    a heavy atom the set does not list taking the ion-C term (the default ``heavy-as-cn`` policy).
    """
    ions = parameters['ions']
    buckingham = {frozenset((a, b)): (A, rho, C) for a, b, A, rho, C in parameters['buckingham']}
    tabulated_lj = {(ion, h): (epsilon, sigma) for ion, h, epsilon, sigma in parameters.get('lennard_jones', [])}
    mixed = parameters.get('ion_lennard_jones', {}) if parameters.get('cross_terms') == 'lorentz-berthelot' else {}
    size = len(classes)
    tables = {name: np.zeros((size, size)) for name in ('A', 'Binv', 'C', 'eps', 'sig', 'mix')}
    for i, a in enumerate(classes):
        for j, b in enumerate(classes):
            if a not in ions and b not in ions:
                tables['mix'][i, j] = 1
                continue
            ion, other = (a, b) if a in ions else (b, a)
            if other in ions or ion not in mixed:
                if other.startswith('H_'):
                    tables['eps'][i, j], tables['sig'][i, j] = tabulated_lj[(ion, other)]
                    continue
                pair = frozenset((ion, other))
                if other not in ions and pair not in buckingham:  # heavy-as-cn: a spacer atom the set lacks
                    pair = frozenset((ion, 'C'))
                A, rho, C = buckingham[pair]  # a KeyError names a pair the set lacks
                tables['A'][i, j], tables['Binv'][i, j], tables['C'][i, j] = A, 1 / rho, C
            else:
                tables['mix'][i, j] = 1
    ion_lj = {ion: (values['D'], values['x'] / 2 ** (1 / 6)) for ion, values in mixed.items()}
    return tables, ion_lj


def whole_system(prmtop: pathlib.Path, inpcrd: pathlib.Path, ions: list[tuple[str, np.ndarray]],
                 lattice: np.ndarray, replication: tuple[int, int, int], parameter_set: str, cutoff: float,
                 ewald_tolerance: float = 1e-6):
    """The OpenMM system of the replicated periodic cell: organic molecules from the tleap prmtop,
    ``ions`` (element, Cartesian position in the frame of ``lattice``, rows a, b, c) with their formal charges,
    ion and ion-organic terms from the set's YAML, Coulomb by PME, pair terms cut at ``cutoff`` without shift
    or tail correction, AMBER exclusions and 1-4 scaling (1/2 Lennard-Jones, 1/1.2 Coulomb) from the prmtop.

    The cell is rotated into a lower-triangular frame (a along x, b in the xy plane) and replicated by whole
    lattice vectors, so every molecule stays whole; nothing comes from the LAMMPS data file. A hydrogen on O
    or S counts as one on N, as the default ``heavy-as-cn`` policy has it.

    :returns: ``(system, positions in nm, {component: force group})``, components as in :data:`COMPONENTS`.
    """
    import openmm
    import openmm.app as app
    import openmm.unit as unit
    import yaml

    parameters = yaml.safe_load((SETS / f'{parameter_set}.yaml').read_text())
    prm = app.AmberPrmtopFile(str(prmtop))
    template = prm.createSystem(nonbondedMethod=app.NoCutoff, constraints=None, rigidWater=False,
                                removeCMMotion=False)
    forces = {type(force).__name__: force for force in template.getForces()}
    organic_xyz = np.array(app.AmberInpcrdFile(str(inpcrd)).positions.value_in_unit(unit.angstrom))
    n_organic = template.getNumParticles()

    # Organic classes: the element, a hydrogen by the element it is bonded to.
    elements = [atom.element.symbol for atom in prm.topology.atoms()]
    partner = {}
    for bond in prm.topology.bonds():
        partner[bond[0].index], partner[bond[1].index] = bond[1].element.symbol, bond[0].element.symbol
    hydrogen_class = {'C': 'H_C', 'N': 'H_N', 'O': 'H_N', 'S': 'H_N'}
    organic_class = [hydrogen_class.get(partner[i], f'H_{partner[i]}') if element == 'H' else element
                     for i, element in enumerate(elements)]
    unknown = sorted(name for name in set(organic_class) if name.startswith('H_') and name not in ('H_C', 'H_N'))
    if unknown:
        raise ValueError(f'the referee has no ion-organic rule for {", ".join(unknown)}')
    ion_elements = sorted({element for element, _ in ions})
    classes = ion_elements + sorted(set(organic_class))
    nonbonded = forces['NonbondedForce']
    organic_lj, organic_charge = [], []
    for i in range(n_organic):
        charge, sigma, epsilon = nonbonded.getParticleParameters(i)
        organic_charge.append(charge.value_in_unit(unit.elementary_charge))
        organic_lj.append((epsilon.value_in_unit(unit.kilocalorie_per_mole), sigma.value_in_unit(unit.angstrom)))
    tables, ion_lj = _pair_tables(parameters, classes)

    # Formal ion charges; the organic charges take the one factor that makes the cell neutral.
    ion_charges = [parameters['ions'][element]['charge'] for element, _ in ions]
    scale = -sum(ion_charges) / round(sum(organic_charge)) if ions else 1.0

    # Lower-triangular frame and whole-molecule replication.
    lattice = np.asarray(lattice, dtype=float)
    a, b, c = np.linalg.norm(lattice, axis=1)
    cos_alpha, cos_beta, cos_gamma = (lattice[1] @ lattice[2] / (b * c), lattice[0] @ lattice[2] / (a * c),
                                      lattice[0] @ lattice[1] / (a * b))
    cx, bx = c * cos_beta, b * cos_gamma
    by = np.sqrt(b * b - bx * bx)
    cy = (b * c * cos_alpha - bx * cx) / by
    frame = np.array([[a, 0, 0], [bx, by, 0], [cx, cy, np.sqrt(c * c - cx * cx - cy * cy)]])
    to_frame = np.linalg.solve(lattice, frame)  # x_frame = x @ inv(lattice) @ frame
    cell_xyz = np.vstack([organic_xyz, np.array([xyz for _, xyz in ions]).reshape(-1, 3)]) @ to_frame
    cell_class = organic_class + [element for element, _ in ions]
    cell_charge = [q * scale for q in organic_charge] + ion_charges
    cell_lj = organic_lj + [ion_lj.get(element, (0.0, 1.0)) for element, _ in ions]
    n_cell = len(cell_xyz)

    system = openmm.System()
    box = frame * np.array(replication)[:, None]
    # OpenMM wants the reduced form (|c_x| <= a_x / 2 and so on): subtract whole lower box vectors, which
    # leaves the periodic system unchanged.
    box[2] -= box[1] * round(box[2, 1] / box[1, 1])
    box[2] -= box[0] * round(box[2, 0] / box[0, 0])
    box[1] -= box[0] * round(box[1, 0] / box[0, 0])
    system.setDefaultPeriodicBoxVectors(*(openmm.Vec3(*row) * 0.1 for row in box))
    copies = [np.array(index) @ frame for index in np.ndindex(*replication)]
    positions = np.vstack([cell_xyz + shift for shift in copies])
    masses = [template.getParticleMass(i) for i in range(n_organic)] + [
        parameters['ions'][element]['mass'] for element, _ in ions]
    for _ in copies:
        for mass in masses:
            system.addParticle(mass)

    # Bonded terms: the prmtop's, once per copy (the molecules are whole, so no periodic images are needed).
    bonded = {}
    for name, count, get, add, n_atoms in (
        ('HarmonicBondForce', 'getNumBonds', 'getBondParameters', 'addBond', 2),
        ('HarmonicAngleForce', 'getNumAngles', 'getAngleParameters', 'addAngle', 3),
        ('PeriodicTorsionForce', 'getNumTorsions', 'getTorsionParameters', 'addTorsion', 4),
    ):
        source, target = forces[name], getattr(openmm, name)()
        terms = [getattr(source, get)(index) for index in range(getattr(source, count)())]
        for copy in range(len(copies)):
            for term in terms:
                getattr(target, add)(*(atom + copy * n_cell for atom in term[:n_atoms]), *term[n_atoms:])
        bonded[name] = target

    coulomb = openmm.NonbondedForce()
    coulomb.setNonbondedMethod(openmm.NonbondedForce.PME)
    coulomb.setCutoffDistance(cutoff * 0.1)
    coulomb.setEwaldErrorTolerance(ewald_tolerance)
    coulomb.setUseDispersionCorrection(False)
    # Buckingham + Lennard-Jones in Angstrom and kcal/mol (OpenMM's r is in nm: 10 r in Angstrom), to kJ/mol.
    vdw = openmm.CustomNonbondedForce(
        f'{KCAL}*(A*exp(-10*r*Binv) - C/(10*r)^6 + 4*eps*((sig/(10*r))^12 - (sig/(10*r))^6));'
        'A = tA(t1, t2); Binv = tBinv(t1, t2); C = tC(t1, t2);'
        'eps = tEps(t1, t2) + tMix(t1, t2)*sqrt(e1*e2); sig = tSig(t1, t2) + tMix(t1, t2)*(s1 + s2)/2'
    )
    size = len(classes)
    for name, table in (('tA', 'A'), ('tBinv', 'Binv'), ('tC', 'C'), ('tEps', 'eps'), ('tSig', 'sig'), ('tMix', 'mix')):
        vdw.addTabulatedFunction(name, openmm.Discrete2DFunction(size, size, tables[table].T.ravel().tolist()))
    for name in ('t', 'e', 's'):
        vdw.addPerParticleParameter(name)
    vdw.setNonbondedMethod(openmm.CustomNonbondedForce.CutoffPeriodic)
    vdw.setCutoffDistance(cutoff * 0.1)
    vdw.setUseSwitchingFunction(False)
    vdw.setUseLongRangeCorrection(False)
    pairs14 = openmm.CustomBondForce(f'{KCAL}*4*eps*((sig/(10*r))^12 - (sig/(10*r))^6)')
    pairs14.addPerBondParameter('eps')
    pairs14.addPerBondParameter('sig')
    for copy in range(len(copies)):
        offset = copy * n_cell
        for kind, q, (epsilon, sigma) in zip(cell_class, cell_charge, cell_lj):
            coulomb.addParticle(q, 0.1, 0.0)
            vdw.addParticle([classes.index(kind), epsilon, sigma])
        for index in range(nonbonded.getNumExceptions()):
            i, j, product, sigma, epsilon = nonbonded.getExceptionParameters(index)
            coulomb.addException(i + offset, j + offset, product * scale**2, 0.1, 0.0)
            vdw.addExclusion(i + offset, j + offset)
            if epsilon.value_in_unit(unit.kilojoule_per_mole):
                pairs14.addBond(i + offset, j + offset, [epsilon.value_in_unit(unit.kilocalorie_per_mole),
                                                         sigma.value_in_unit(unit.angstrom)])

    groups = {'bond': [bonded['HarmonicBondForce']], 'angle': [bonded['HarmonicAngleForce']],
              'torsion': [bonded['PeriodicTorsionForce']], 'coulomb': [coulomb],
              'vdw': [vdw, pairs14]}
    for group, members in enumerate(groups.values()):
        for force in members:
            force.setForceGroup(group)
            system.addForce(force)
    return system, positions * 0.1, {name: group for group, name in enumerate(groups)}


def whole_system_energies(prmtop: pathlib.Path, inpcrd: pathlib.Path, ions: list[tuple[str, np.ndarray]],
                          lattice: np.ndarray, replication: tuple[int, int, int], parameter_set: str,
                          cutoff: float, ewald_tolerance: float = 1e-6) -> dict[str, float]:
    """OpenMM energies (kcal/mol) of :func:`whole_system` on the Reference platform, by component and in total."""
    import openmm
    import openmm.unit as unit

    system, positions, groups = whole_system(prmtop, inpcrd, ions, lattice, replication, parameter_set, cutoff,
                                             ewald_tolerance)
    context = openmm.Context(system, openmm.VerletIntegrator(0.001), openmm.Platform.getPlatformByName('Reference'))
    context.setPositions(positions)

    def energy(group_set):
        state = context.getState(getEnergy=True, groups=group_set)
        return state.getPotentialEnergy().value_in_unit(unit.kilocalorie_per_mole)

    result = {name: energy({group}) for name, group in groups.items()}
    result['total'] = energy(set(groups.values()))
    return result


def lammps_run0(folder: pathlib.Path) -> dict[str, float]:
    """LAMMPS ``run 0`` on the project's ``forcefield.lmp`` in ``folder`` (kcal/mol), by the same components."""
    values = _run0(folder, 'ebond eangle edihed eimp evdwl ecoul elong pe')
    return {
        'bond': values['E_bond'],
        'angle': values['E_angle'],
        'torsion': values['E_dihed'] + values['E_impro'],
        'vdw': values['E_vdwl'],
        'coulomb': values['E_coul'] + values['E_long'],
        'total': values['PotEng'],
    }
