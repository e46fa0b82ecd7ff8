"""The whole periodic system against an independent engine: LAMMPS ``run 0`` on the project's own files
(written by ``ParametriseWorkChain`` with the real AmberTools) against OpenMM built in ``tests/referee.py``
from the tleap prmtop and the parameter set's YAML (Buckingham and Lennard-Jones as custom forces, PME).

The cell is the builder's (BA)2PbI4, 3x3x1 (351 atoms, triclinic), so the check never skips. Each
component must agree to 1e-4 relative: a wrong cross term, a mixed-up hydrogen class, a wrong mixing rule
or a unit slip in the written force field moves one of them by far more.
"""

import numpy as np
import pytest
from aiida.engine import run_get_node

from aiida_perovskite.workflows.parametrise import ParametriseWorkChain
from tests.referee import COMPONENTS, lammps_run0, whole_system_energies

CUTOFF = 7.0  # Angstrom: the 3x3x1 box is 14.9 A across the layers, and OpenMM needs twice the cut-off
REPLICATION = [3, 3, 1]
SETTINGS = {'replication': REPLICATION, 'cutoff': CUTOFF, 'kspace_accuracy': 1e-6}


@pytest.mark.parametrize('parameter_set', [
    'myp-pbi',        # Buckingham Pb/I-(C,N), tabulated Lennard-Jones Pb/I-H (H on N and on C apart)
    'myp-pbi-uffi',   # Buckingham Pb-(C,N), Lennard-Jones Pb-H, I-organic Lorentz-Berthelot from UFF iodine
])
def test_whole_system_energy_agrees_with_openmm(parameter_set, amber_codes, cif_node, butylammonium_rp, tmp_path):
    builder = ParametriseWorkChain.get_builder_from_protocol(
        amber_codes, cif_node(butylammonium_rp, 'ba2pbi4.cif'), 'thesis',
        {'charge_method': 'gas', 'parameter_set': parameter_set, 'lammps': SETTINGS},
    )
    results, node = run_get_node(builder)
    assert node.is_finished_ok, node.exit_message
    topology = results['topology']
    assert topology.base.attributes.get('parameter_set') == parameter_set
    topology.write(tmp_path)
    ours = lammps_run0(tmp_path)

    tleap = next(n for n in node.called if n.process_type == 'aiida.calculations:perovskite.tleap')
    prmtop, inpcrd = tmp_path / 'cell.prmtop', tmp_path / 'cell.inpcrd'
    prmtop.write_bytes(results['prmtop'].get_content(mode='rb'))
    inpcrd.write_bytes(tleap.outputs.inpcrd.get_content(mode='rb'))
    structure = results['structure']
    ions = [(structure.get_kind(structure.sites[i].kind_name).symbol, np.array(structure.sites[i].position))
            for i in results['decomposition']['inorganic_indices']]
    assert sorted(element for element, _ in ions) == ['I'] * 4 + ['Pb']
    reference = whole_system_energies(prmtop, inpcrd, ions, np.array(structure.cell), REPLICATION, parameter_set,
                                      CUTOFF, ewald_tolerance=1e-6)

    assert topology.base.attributes.get('n_atoms') == 9 * len(butylammonium_rp)
    for term in (*COMPONENTS, 'total'):
        assert ours[term] == pytest.approx(reference[term], rel=1e-4), \
            f'{term}: LAMMPS {ours[term]:.6f}, OpenMM {reference[term]:.6f} kcal/mol'
