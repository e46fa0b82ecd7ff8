"""``decompose_cif``: the decomposition as part of the provenance graph."""

import io

import numpy as np
from aiida import orm
from aiida.common.links import LinkType
from aiida.plugins import CalculationFactory

from aiida_perovskite.calculations.functions.decompose import decompose_cif
from aiida_perovskite.common.exit_codes import STRUCTURE_EXIT_CODES


def cif_node(structure, filename):
    from pymatgen.io.cif import CifWriter

    return orm.CifData(file=io.BytesIO(str(CifWriter(structure)).encode()), filename=filename)


def test_entry_point():
    assert CalculationFactory('perovskite.decompose') is decompose_cif


def test_outputs_and_links(butylammonium_rp):
    cif = cif_node(butylammonium_rp, 'ba2pbi4.cif')
    results, node = decompose_cif.run_get_node(cif)
    assert node.is_finished_ok
    record = results['decomposition'].get_dict()
    assert [(s['smiles'], s['charge'], s['count']) for s in record['spacers']] == [('CCCC[NH3+]', 1, 2)]
    assert record['file'] == 'ba2pbi4.cif'
    assert record['stacking_axis'] == 'c' and record['n_layers'] == 1

    structure = results['structure']
    assert len(structure.sites) == len(butylammonium_rp)
    # The oblique cell is kept (a CIF stores lengths and angles, not an orientation).
    assert np.allclose(structure.cell_lengths, butylammonium_rp.lattice.abc, atol=1e-6)
    assert np.allclose(structure.cell_angles, butylammonium_rp.lattice.angles, atol=1e-5)
    # Provenance: CIF -> calcfunction -> structure and record.
    incoming = node.base.links.get_incoming(link_type=LinkType.INPUT_CALC).all_nodes()
    assert cif.uuid in {n.uuid for n in incoming}
    assert results['structure'].base.links.get_incoming().one().node.uuid == node.uuid


def test_parameters_are_inputs(butylammonium_rp):
    cif = cif_node(butylammonium_rp, 'ba2pbi4.cif')
    _, node = decompose_cif.run_get_node(cif, orm.Dict({'tolerance': 0.35}))
    assert node.is_finished_ok
    assert node.inputs.parameters['tolerance'] == 0.35

    _, node = decompose_cif.run_get_node(cif, orm.Dict({'tolerence': 0.35}))
    assert node.exit_status == STRUCTURE_EXIT_CODES['invalid_parameters'][0]
    assert 'tolerence' in node.exit_message


def test_bad_cif_gets_its_exit_code(butanediammonium_dj):
    changed = butanediammonium_dj.copy()
    changed.replace(next(i for i, s in enumerate(changed) if s.specie.symbol == 'N'), 'C')
    _, node = decompose_cif.run_get_node(cif_node(changed, 'one_head_short.cif'))
    assert node.is_finished and not node.is_finished_ok
    assert node.exit_status == STRUCTURE_EXIT_CODES['charge_imbalance'][0]
    assert node.exit_message.startswith('ChargeImbalanceError: one_head_short.cif: the cell carries a net charge')
    assert not node.base.links.get_outgoing().all()


def test_disorder_policy_is_an_input_and_its_choice_an_output(butylammonium_rp):
    from tests.structure.test_disorder import disordered_cif

    cif = orm.CifData(file=io.BytesIO(disordered_cif(butylammonium_rp).encode()), filename='disordered.cif')
    _, node = decompose_cif.run_get_node(cif)
    assert node.exit_status == STRUCTURE_EXIT_CODES['disorder'][0]
    assert 'disordered.cif' in node.exit_message and '--disorder major' in node.exit_message

    results, node = decompose_cif.run_get_node(cif, orm.Dict({'disorder': 'major'}))
    assert node.is_finished_ok
    assert node.inputs.parameters['disorder'] == 'major'
    record = results['decomposition'].get_dict()
    assert record['disorder']['assemblies']['A']['kept'] == '1'
    assert record['notes'][0].startswith('disorder resolved to its major component')
    assert [(s['smiles'], s['count']) for s in record['spacers']] == [('CCCC[NH3+]', 2)]
    assert len(results['structure'].sites) == len(butylammonium_rp)

    _, node = decompose_cif.run_get_node(cif, orm.Dict({'disorder': 'minor'}))
    assert node.exit_status == STRUCTURE_EXIT_CODES['invalid_parameters'][0]
    assert "'minor'" in node.exit_message


def test_hydrogen_policy_is_an_input_and_what_it_added_an_output(butylammonium_rp):
    from tests.structure.test_hydrogens import stripped_cif

    cif = orm.CifData(file=io.BytesIO(stripped_cif(butylammonium_rp).encode()), filename='bare.cif')
    _, node = decompose_cif.run_get_node(cif)
    assert node.exit_status == STRUCTURE_EXIT_CODES['missing_hydrogen'][0]
    assert '--hydrogens add' in node.exit_message

    results, node = decompose_cif.run_get_node(cif, orm.Dict({'hydrogens': 'add'}))
    assert node.is_finished_ok
    record = results['decomposition'].get_dict()
    assert record['hydrogens']['added'] == 24
    assert record['notes'][0] == 'hydrogens added at riding positions: 24 H to 2 molecule(s) (CCCC[NH3+] x2)'
    assert len(results['structure'].sites) == len(butylammonium_rp)

    _, node = decompose_cif.run_get_node(cif, orm.Dict({'hydrogens': 'guess'}))
    assert node.exit_status == STRUCTURE_EXIT_CODES['invalid_parameters'][0]
