"""The OpenMM system built from the project's own LAMMPS files against LAMMPS ``run 0`` on the same files.

Two inputs. The builder's (BA)2PbI4, 3x3x1 (351 atoms, triclinic), parametrised by ``ParametriseWorkChain``
with the real AmberTools for both parameter sets the whole-system test uses: every component (bond, angle,
torsion, pair terms with their 1-4 part, Coulomb with its long-range part, total) must agree to 1e-4
relative. And a small synthetic system with what the spacers lack: cvff impropers, a fourier dihedral with
a phase of 30 degrees, a five-membered ring (a pair that is 1-3 one way and 1-4 the other), a Buckingham
pair at 1-4 (scaled by ``special_bonds amber`` like any pair style), a box origin away from 0, a molecule
across the box edge (image flags) and a Velocities section.
"""

import io
import shutil

import numpy as np
import pytest

from aiida_perovskite.simulation.openmm_system import (
    FORCE_GROUPS,
    LammpsInputError,
    build_system,
    hydrogen_bond_count,
    read_data,
    write_data,
)
from tests.referee import COMPONENTS, lammps_run0

SETTINGS = {'replication': [3, 3, 1], 'cutoff': 7.0, 'kspace_accuracy': 1e-6}
EWALD_TOLERANCE = 1e-6


@pytest.fixture(scope='module')
def codes(aiida_profile, tmp_path_factory):
    from tests.conftest import local_computer

    return local_computer('openmm-system-localhost', tmp_path_factory.mktemp('work'))[1]


@pytest.fixture(scope='module', params=[
    'myp-pbi',        # Buckingham Pb/I-(C,N), tabulated Lennard-Jones Pb/I-H
    'myp-pbi-uffi',   # Lennard-Jones I-organic (Lorentz-Berthelot from UFF iodine) in the pair_coeff lines
])
def topology_folder(request, codes, tmp_path_factory):
    """The LAMMPS files of the (BA)2PbI4 3x3x1 cell as ``ParametriseWorkChain`` writes them."""
    from aiida import orm
    from aiida.engine import run_get_node
    from pymatgen.io.cif import CifWriter

    from aiida_perovskite.builder import alkylammonium, layered_perovskite
    from aiida_perovskite.workflows.parametrise import ParametriseWorkChain

    cell = layered_perovskite(alkylammonium(4), phase='RP')
    cif = orm.CifData(file=io.BytesIO(str(CifWriter(cell)).encode()), filename='ba2pbi4.cif')
    builder = ParametriseWorkChain.get_builder_from_protocol(
        {tool: codes[tool] for tool in ('antechamber', 'parmchk2', 'tleap')}, cif, 'thesis',
        {'charge_method': 'gas', 'parameter_set': request.param, 'lammps': SETTINGS},
    )
    results, node = run_get_node(builder)
    assert node.is_finished_ok, node.exit_message
    folder = tmp_path_factory.mktemp(request.param)
    results['topology'].write(folder)
    return folder


def openmm_energies(built) -> dict[str, float]:
    """Energies (kcal/mol) of each force group and in total, on the Reference platform."""
    import openmm
    import openmm.unit as unit

    context = openmm.Context(built.system, openmm.VerletIntegrator(0.001), openmm.Platform.getPlatformByName('Reference'))
    context.setPositions(built.positions)

    def energy(groups):
        state = context.getState(getEnergy=True, groups=groups)
        return state.getPotentialEnergy().value_in_unit(unit.kilocalorie_per_mole)

    result = {name: energy({group}) for name, group in FORCE_GROUPS.items()}
    result['total'] = energy(set(FORCE_GROUPS.values()))
    return result


def assert_agrees(ours: dict, reference: dict, rel: float = 1e-4) -> None:
    for term in (*COMPONENTS, 'total'):
        assert ours[term] == pytest.approx(reference[term], rel=rel), \
            f'{term}: OpenMM {ours[term]:.6f}, LAMMPS {reference[term]:.6f} kcal/mol'


def test_energies_agree_with_lammps(topology_folder):
    built = build_system(topology_folder, EWALD_TOLERANCE)
    assert built.n_atoms == 351 and built.positions.shape == (351, 3) and built.cutoff == 7.0
    assert_agrees(openmm_energies(built), lammps_run0(topology_folder))


def test_hydrogen_bonds_are_the_x_h_bonds(topology_folder):
    built = build_system(topology_folder, EWALD_TOLERANCE)
    data = read_data((topology_folder / 'data.lmp').read_text())
    hydrogens = set(np.flatnonzero(built.masses < 1.1))
    assert len(hydrogens) == 18 * 12  # 18 butylammonium, 12 H each
    assert sorted(h for _, h, _ in built.hydrogen_bonds) == sorted(hydrogens)  # each H once
    bonds = {tuple(sorted((i, j))): data.coefficients['Bond'][kind][1] for kind, i, j in data.topology['Bonds']}
    for heavy, hydrogen, r0 in built.hydrogen_bonds:
        assert built.masses[heavy] > 1.1
        assert r0 == pytest.approx(bonds[tuple(sorted((heavy, hydrogen)))] / 10)
        assert 0.09 < np.linalg.norm(built.positions[heavy] - built.positions[hydrogen]) < 0.12  # whole molecules
    assert hydrogen_bond_count(data) == len(built.hydrogen_bonds) == 216  # what a shake ladder holds rigid


def test_box_is_reduced_and_molecules_whole(topology_folder):
    built = build_system(topology_folder, EWALD_TOLERANCE)
    a, b, c = built.box
    assert a[1] == a[2] == b[2] == 0
    assert abs(b[0]) <= a[0] / 2 and abs(c[0]) <= a[0] / 2 and abs(c[1]) <= b[1] / 2
    data = read_data((topology_folder / 'data.lmp').read_text())
    lengths = [np.linalg.norm(built.positions[i] - built.positions[j]) for _, i, j in data.topology['Bonds']]
    assert max(lengths) < 0.2


def test_write_data_round_trip(topology_folder, tmp_path):
    """LAMMPS reads what write_data writes and gets the same energy, for the same positions and for the same
    configuration turned and given as an unreduced box; the ladder's reader reads it too."""
    from scipy.spatial.transform import Rotation

    from aiida_perovskite.calculations.functions.ladder import lammps_data_structure

    reference = lammps_run0(topology_folder)
    built = build_system(topology_folder, EWALD_TOLERANCE)
    template = (topology_folder / 'data.lmp').read_text()
    box = built.box * 10
    rotation = Rotation.from_euler('zyx', [30, 20, 10], degrees=True).as_matrix()
    unreduced = box + [[0, 0, 0], box[0], box[0] - box[1]]
    for positions, vectors in ((built.positions * 10, box), (built.positions * 10 @ rotation, unreduced @ rotation)):
        folder = tmp_path / 'copy'
        shutil.rmtree(folder, ignore_errors=True)
        shutil.copytree(topology_folder, folder)
        text = write_data(template, positions, vectors)
        (folder / 'data.lmp').write_text(text)
        assert_agrees(lammps_run0(folder), reference, rel=1e-9)
        again = build_system(folder, EWALD_TOLERANCE)
        assert np.allclose(again.box, built.box, atol=1e-9)
        structure = lammps_data_structure(text)
        counts = {element.symbol: int(n) for element, n in structure.composition.items()}
        assert counts == {'Pb': 9, 'I': 36, 'C': 72, 'N': 18, 'H': 216}
        assert structure.volume == pytest.approx(abs(np.linalg.det(box)))
    # The same positions: the unwrapped positions come back (image flags kept consistent with the wrap).
    text = write_data(template, built.positions * 10, box)
    data = read_data(text)
    assert np.allclose(data.unwrapped, built.positions * 10, atol=1e-7)
    assert (data.positions @ np.linalg.inv(data.box) >= -1e-9).all()


# --- a synthetic system: impropers, phases, rings, a 1-4 Buckingham pair -----------------------------------------

COEFFICIENTS = """\
pair_coeff 1 1 lj/cut/coul/long 0.1 3.2
pair_coeff 1 2 lj/cut/coul/long 0.05 2.6
pair_coeff 2 2 lj/cut/coul/long 0.02 1.5
pair_coeff 1 3 buck/coul/long 3000.0 0.3 20.0
pair_coeff 2 3 lj/cut/coul/long 0.04 2.5
pair_coeff 3 3 buck/coul/long 20000.0 0.35 600.0
"""
FORCEFIELD = """\
units real
atom_style full
boundary p p p
pair_style hybrid buck/coul/long 8.0 lj/cut/coul/long 8.0
bond_style harmonic
angle_style harmonic
dihedral_style fourier
improper_style cvff
special_bonds amber
read_data data.lmp
include coefficients.lmp
kspace_style pppm 1e-06
"""


def synthetic_data(phase: float) -> str:
    """Two copies of a puckered five-membered ring with an H and a chain ending in a Buckingham atom (types 1
    C-like, 2 H, 3 ion-like), two free type-3 atoms; the second molecule crosses the box edge along x."""
    angles = np.arange(5) * 2 * np.pi / 5
    ring = np.c_[1.25 * np.cos(angles), 1.25 * np.sin(angles), [0.0, 0.3, -0.25, 0.2, -0.15]]
    chain = ring[2] * 2.2 + [0.1, 0, 0.5]
    molecule = np.vstack([ring, ring[0] * 1.85 + [0, 0, 0.4], chain, chain + [-0.6, -1.3, 0.5]])
    types, charges = [1, 1, 1, 1, 1, 2, 1, 3], [-0.2, 0.1, 0.05, 0.1, -0.15, 0.2, -0.3, 0.2]
    bonds = [(1, 0, 1), (1, 1, 2), (1, 2, 3), (1, 3, 4), (1, 4, 0), (2, 0, 5), (1, 2, 6), (3, 6, 7)]
    dihedrals = [(1, 4, 0, 1, 2), (2, 0, 1, 2, 3), (1, 5, 0, 1, 2), (2, 1, 2, 6, 7), (1, 3, 2, 6, 7), (2, 5, 0, 4, 3)]
    impropers = [(1, 1, 0, 4, 5), (2, 1, 2, 3, 6)]
    partners = {}
    for _, i, j in bonds:
        partners.setdefault(i, []).append(j)
        partners.setdefault(j, []).append(i)
    angle_rows = [(1 + (centre == 2), ends[a], centre, ends[b])
                  for centre, ends in partners.items() for a in range(len(ends)) for b in range(a + 1, len(ends))]
    lx, ly, lz, xy, xz, yz = 24.0, 22.0, 20.0, 3.0, -4.0, 2.5
    matrix, origin = np.array([[lx, 0, 0], [xy, ly, 0], [xz, yz, lz]]), np.array([1.0, -2.0, 0.5])
    atoms = [(m, t, q, xyz) for m, shift in enumerate(([2.0, 3.0, 4.0], [lx - 1.0, 10.0, 11.0]), 1)
             for t, q, xyz in zip(types, charges, molecule + shift)]
    atoms += [(3, 3, 0.0, np.array([12.0, 12.0, 5.0])), (4, 3, 0.0, np.array([6.0, 8.0, 6.5]))]
    lines = [
        '# synthetic', '', f'{len(atoms)} atoms', f'{2 * len(bonds)} bonds', f'{2 * len(angle_rows)} angles',
        f'{2 * len(dihedrals)} dihedrals', f'{2 * len(impropers)} impropers', '', '3 atom types', '3 bond types',
        '2 angle types', '2 dihedral types', '2 improper types', '',
        f'1.0 {1.0 + lx} xlo xhi', f'-2.0 {-2.0 + ly} ylo yhi', f'0.5 {0.5 + lz} zlo zhi', f'{xy} {xz} {yz} xy xz yz',
        '', 'Masses', '', '1 12.011', '2 1.008', '3 207.2', '',
        'Bond Coeffs # harmonic', '', '1 300.0 1.45', '2 340.0 1.09', '3 150.0 2.0', '',
        'Angle Coeffs # harmonic', '', '1 50.0 108.0', '2 40.0 115.0', '',
        'Dihedral Coeffs # fourier', '', f'1 2 0.7 3 0.0 0.4 1 {phase}', '2 3 0.3 2 180.0 0.25 1 0.0 0.15 3 0.0', '',
        'Improper Coeffs # cvff', '', '1 1.1 -1 2', '2 0.6 1 3', '', 'Atoms # full', '',
    ]
    for index, (m, t, q, xyz) in enumerate(atoms, 1):
        fractional = (xyz - origin) @ np.linalg.inv(matrix)
        image = np.floor(fractional).astype(int)
        x, y, z = origin + (fractional - image) @ matrix
        lines.append(f'{index} {m} {t} {q} {x:.8f} {y:.8f} {z:.8f} {image[0]} {image[1]} {image[2]}')
    lines += ['', 'Velocities', ''] + [f'{index} 0.001 -0.002 0.0005' for index in range(1, len(atoms) + 1)]
    for name, rows in (('Bonds', bonds), ('Angles', angle_rows), ('Dihedrals', dihedrals), ('Impropers', impropers)):
        shifted = [(t, *(a + 1 + copy * len(molecule) for a in members)) for copy in range(2) for t, *members in rows]
        lines += ['', name, '', *(f'{n} ' + ' '.join(map(str, row)) for n, row in enumerate(shifted, 1))]
    return '\n'.join(lines) + '\n'


def write_synthetic(folder, phase: float = 30.0, forcefield: str = FORCEFIELD):
    folder.mkdir(exist_ok=True)
    (folder / 'data.lmp').write_text(synthetic_data(phase))
    (folder / 'coefficients.lmp').write_text(COEFFICIENTS)
    (folder / 'forcefield.lmp').write_text(forcefield)
    return folder


@pytest.mark.parametrize('phase', [30.0, 0.0])
def test_synthetic_system_agrees_with_lammps(phase, tmp_path):
    folder = write_synthetic(tmp_path / 'synthetic', phase)
    built = build_system(folder, EWALD_TOLERANCE)
    ours, reference = openmm_energies(built), lammps_run0(folder)
    assert_agrees(ours, reference)
    for term in ('bond', 'angle', 'torsion', 'vdw'):  # no grid behind these: rounding only
        assert ours[term] == pytest.approx(reference[term], rel=1e-9)
    assert built.hydrogen_bonds == [(0, 5, pytest.approx(0.109)), (8, 13, pytest.approx(0.109))]
    lengths = [np.linalg.norm(built.positions[i] - built.positions[j]) for i, j, _ in built.hydrogen_bonds]
    assert max(lengths) < 0.15  # the molecule across the edge is whole


def test_the_1_4_buckingham_pair_is_scaled_not_excluded(tmp_path):
    """Without its 1-4 Buckingham terms (halved in LAMMPS) the pair energy would be off."""
    import openmm

    folder = write_synthetic(tmp_path / 'synthetic')
    built = build_system(folder, EWALD_TOLERANCE)
    scaled = next(f for f in built.system.getForces() if isinstance(f, openmm.CustomBondForce))
    parameters = [scaled.getBondParameters(index) for index in range(scaled.getNumBonds())]
    buckingham = [(i, j) for i, j, values in parameters if values[1] > 0]  # A > 0
    assert sorted(buckingham) == [(1, 7), (3, 7), (9, 15), (11, 15)]  # chain end 1-4 to the ring atoms beside
    assert all(values[0] == 0.5 for *_, values in parameters)


def test_untranslated_input_is_refused(tmp_path):
    folder = write_synthetic(tmp_path / 'shifted', forcefield=FORCEFIELD + 'pair_modify shift yes\n')
    with pytest.raises(LammpsInputError, match='pair_modify'):
        build_system(folder, EWALD_TOLERANCE)
    folder = write_synthetic(tmp_path / 'style', forcefield=FORCEFIELD.replace('improper_style cvff', 'improper_style harmonic'))
    with pytest.raises(LammpsInputError, match='improper_style'):
        build_system(folder, EWALD_TOLERANCE)
    (folder / 'coefficients.lmp').write_text(COEFFICIENTS.replace('pair_coeff 2 3 lj/cut/coul/long 0.04 2.5\n', ''))
    (folder / 'forcefield.lmp').write_text(FORCEFIELD)
    with pytest.raises(LammpsInputError, match=r'missing for type pairs \[\(2, 3\)\]'):
        build_system(folder, EWALD_TOLERANCE)
