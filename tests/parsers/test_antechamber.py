"""``perovskite.antechamber`` parser on stored real antechamber outputs (fixtures/README.md says how each was made)."""

import pytest
from aiida import orm

from aiida_perovskite.calculations.antechamber import AntechamberCalculation
from aiida_perovskite.parsers.antechamber import AntechamberParser

#: (case, parameters of the run, exit code name or None for success, words the exit message must hold)
CASES = [
    pytest.param('am1bcc_butylammonium', {}, None, None, id='am1bcc_butylammonium'),
    pytest.param('gasteiger_pyridinium', {'charge_method': 'gas', 'net_charge': 2}, None, None,
                 id='gasteiger_pyridinium'),
    pytest.param('sqm_odd_electrons', {'net_charge': 0}, 'ERROR_CHARGES', 'qmcharge', id='sqm_odd_electrons'),
    pytest.param('untyped_silicon', {}, 'ERROR_ATOM_TYPING', "untyped: ['Si']", id='untyped_silicon'),
    pytest.param('no_gasteiger_parameter', {'charge_method': 'gas'}, 'ERROR_ATOM_TYPING',
                 'No Gasteiger parameter for atom', id='no_gasteiger_parameter'),
    pytest.param('unknown_element', {'charge_method': 'gas'}, 'ERROR_OUTPUT_MISSING',
                 'Unrecognized case-sensitive atomic symbol (Xx1)', id='unknown_element'),
    pytest.param('empty_molecule', {'charge_method': 'gas'}, 'ERROR_OUTPUT_MISSING', 'no atoms', id='empty_molecule'),
    # The AM1-BCC output of a 1+ cation parsed as if the run had asked for 2+: charges are never
    # shifted by a whole charge under AM1-BCC (real antechamber always matches -nc, so no run gives this).
    pytest.param('am1bcc_butylammonium', {'net_charge': 2}, 'ERROR_CHARGE_SUM', 'not the net charge 2',
                 id='charge_sum_mismatch'),
]


def summary(results) -> dict:
    """Output names, the parsed summary and the atoms of the output mol2 (name, type, charge)."""
    data = {'outputs': sorted(results)}
    if 'output_parameters' in results:
        data['output_parameters'] = results['output_parameters'].get_dict()
        data['output_parameters']['charge_sum'] = round(data['output_parameters']['charge_sum'], 6)  # float noise
    if 'molecule' in results:
        text = results['molecule'].get_content()
        atoms = text.split('@<TRIPOS>ATOM')[1].split('@<TRIPOS>')[0].split()
        rows = [atoms[i:i + 9] for i in range(0, len(atoms), 9)]
        data['molecule'] = {'filename': results['molecule'].filename,
                            'atoms': [f'{row[1]} {row[5]} {row[8]}' for row in rows]}
    return data


@pytest.mark.parametrize('case, parameters, exit_code, words', CASES)
def test_antechamber(generate_calc_job_node, data_regression, case, parameters, exit_code, words):
    parameters = {'net_charge': 1, 'residue_name': 'S01', **parameters}
    node = generate_calc_job_node('perovskite.antechamber', case, {'parameters': orm.Dict(parameters)})
    results, calcfunction = AntechamberParser.parse_from_node(node, store_provenance=False)

    expected = 0 if exit_code is None else AntechamberCalculation.exit_codes[exit_code].status
    assert calcfunction.exit_status == expected, calcfunction.exit_message
    if words:
        assert words in calcfunction.exit_message
    data_regression.check(summary(results))


def test_charges_sum_to_the_net_charge(generate_calc_job_node):
    """The regression files aside: what a sound AM1-BCC and a Gasteiger pyridinium run must give."""
    bcc = generate_calc_job_node('perovskite.antechamber', 'am1bcc_butylammonium',
                                 {'parameters': orm.Dict({'net_charge': 1})})
    results, _ = AntechamberParser.parse_from_node(bcc, store_provenance=False)
    summary_ = results['output_parameters'].get_dict()
    assert summary_['n_atoms'] == 17 and summary_['atom_types'] == ['c3', 'hc', 'hn', 'hx', 'n4']
    assert abs(summary_['charge_sum'] - 1) < 1e-4 and summary_['charge_shortfall'] == 0

    gas = generate_calc_job_node('perovskite.antechamber', 'gasteiger_pyridinium',
                                 {'parameters': orm.Dict({'net_charge': 2, 'charge_method': 'gas'})})
    results, _ = AntechamberParser.parse_from_node(gas, store_provenance=False)
    summary_ = results['output_parameters'].get_dict()
    assert {'ca', 'na', 'n4'} <= set(summary_['atom_types'])
    assert abs(summary_['charge_sum'] - 1) < 1e-4 and summary_['charge_shortfall'] == 1  # the ring's + unseen
