"""The AmberTools calculations run for real, including the ways they fail."""

import io

from aiida import orm
from aiida.engine import run_get_node
from aiida.plugins import CalculationFactory

from aiida_perovskite.calculations.functions.decompose import decompose_cif
from aiida_perovskite.calculations.functions.topology import extract_molecules, prepare_tleap_inputs
from tests.workflows.test_parametrise import silyl_perovskite

AntechamberCalculation = CalculationFactory('perovskite.antechamber')
Parmchk2Calculation = CalculationFactory('perovskite.parmchk2')
TleapCalculation = CalculationFactory('perovskite.tleap')


def molecules_of(structure, cif_node):
    results = decompose_cif(cif_node(structure))
    return results, extract_molecules(results['structure'], results['decomposition'])


def antechamber(code, molecule, **parameters):
    parameters = {'net_charge': 1, 'residue_name': 'S01', **parameters}
    return run_get_node(AntechamberCalculation, code=code, molecule=molecule, parameters=orm.Dict(parameters))


def test_antechamber_parmchk2_tleap(amber_codes, cif_node, butylammonium_rp):
    decomposed, molecules = molecules_of(butylammonium_rp, cif_node)
    results, node = antechamber(amber_codes['antechamber'], molecules['S01'])  # AM1-BCC through sqm
    assert node.is_finished_ok, node.exit_message
    summary = results['output_parameters'].get_dict()
    assert summary['atom_types'] == ['c3', 'hc', 'hn', 'hx', 'n4']
    assert abs(summary['charge_sum'] - 1) < 0.01 and summary['charge_shortfall'] == 0

    frcmod, node = run_get_node(Parmchk2Calculation, code=amber_codes['parmchk2'], molecule=results['molecule'])
    assert node.is_finished_ok, node.exit_message
    assert frcmod['output_parameters']['n_unresolved'] == 0

    prepared = prepare_tleap_inputs(decomposed['structure'], decomposed['decomposition'], S01=results['molecule'])
    leap, node = run_get_node(TleapCalculation, code=amber_codes['tleap'], molecules={'S01': prepared['S01']},
                              frcmods={'S01': frcmod['frcmod']}, pdb=prepared['pdb'])
    assert node.is_finished_ok, node.exit_message
    assert leap['output_parameters']['errors'] == 0
    assert leap['output_parameters']['n_atoms'] == 34  # two copies of C4H12N


def test_antechamber_cannot_type_silicon(amber_codes, cif_node):
    _, molecules = molecules_of(silyl_perovskite(), cif_node)
    _, node = antechamber(amber_codes['antechamber'], molecules['S01'], charge_method='gas')
    assert node.exit_status == AntechamberCalculation.exit_codes.ERROR_ATOM_TYPING.status
    assert 'No Gasteiger parameter for atom' in node.exit_message and 'Si' in node.exit_message


def test_tleap_failure_keeps_its_message(amber_codes, cif_node, butylammonium_rp):
    decomposed, molecules = molecules_of(butylammonium_rp, cif_node)
    results, _ = antechamber(amber_codes['antechamber'], molecules['S01'], charge_method='gas')
    frcmod, _ = run_get_node(Parmchk2Calculation, code=amber_codes['parmchk2'], molecule=results['molecule'])
    prepared = prepare_tleap_inputs(decomposed['structure'], decomposed['decomposition'], S01=results['molecule'])
    renamed = prepared['pdb'].get_content().replace(' S01 ', ' XYZ ')  # a residue tleap has no unit for
    pdb = orm.SinglefileData(io.BytesIO(renamed.encode()), filename='cell.pdb')
    _, node = run_get_node(TleapCalculation, code=amber_codes['tleap'], molecules={'S01': prepared['S01']},
                           frcmods={'S01': frcmod['frcmod']}, pdb=pdb)
    assert node.exit_status == TleapCalculation.exit_codes.ERROR_TLEAP.status
    assert 'does not have a type' in node.exit_message or 'FATAL' in node.exit_message
