"""``perovskite.build``: a built cell's provenance records the SMILES and settings it came from."""

from aiida import orm
from aiida.common.links import LinkType
from aiida.plugins import CalculationFactory

from aiida_perovskite.calculations.functions.build import ERROR_INVALID_SPACER, build_perovskite
from aiida_perovskite.calculations.functions.decompose import decompose_cif


def test_entry_point():
    assert CalculationFactory('perovskite.build') is build_perovskite


def test_inputs_record_smiles_and_settings():
    smiles, settings = orm.Str('NCCc1ccccc1'), orm.Dict({'phase': 'RP', 'metal': 'Pb', 'halide': 'Br', 'label': 'PEA'})
    results, node = build_perovskite.run_get_node(smiles, settings)
    assert node.is_finished_ok
    incoming = {link.link_label: link.node for link in node.base.links.get_incoming(link_type=LinkType.INPUT_CALC)}
    assert incoming['smiles'].value == 'NCCc1ccccc1'
    assert incoming['settings'].get_dict() == {'phase': 'RP', 'metal': 'Pb', 'halide': 'Br', 'label': 'PEA'}

    cif = results['cif']
    assert cif.filename == 'pea_pbbr_rp_n1.cif'
    assert cif.base.links.get_incoming().one().node.uuid == node.uuid
    record = results['record'].get_dict()
    assert record['smiles'] == record['decomposed_smiles'] == '[NH3+]CCc1ccccc1'
    assert record['charge'] == record['decomposed_charge'] == 1
    assert record['settings']['n'] == 1 and record['settings']['contact_factor'] == 0.8  # defaults recorded too
    assert len(results['structure'].sites) == len(cif.get_structure(primitive_cell=False).sites)

    # the built CIF goes straight into the rest of the provenance graph
    decomposed, decompose_node = decompose_cif.run_get_node(cif)
    assert decompose_node.is_finished_ok
    assert decomposed['decomposition']['spacers'][0]['smiles'] == '[NH3+]CCc1ccccc1'


def test_refused_spacer_finishes_with_its_exit_code():
    _, node = build_perovskite.run_get_node(orm.Str('CCCCN'), orm.Dict({'phase': 'DJ'}))
    assert node.is_finished and not node.is_finished_ok
    assert node.exit_status == ERROR_INVALID_SPACER
    assert 'it fits phase RP' in node.exit_message
    _, node = build_perovskite.run_get_node(orm.Str('C1CC('))
    assert node.exit_status == ERROR_INVALID_SPACER and 'invalid SMILES' in node.exit_message
