"""``perovskite.lammps`` parser on stored real LAMMPS outputs (see fixtures/lammps/make_fixtures.py)."""

import json

import pytest
from aiida import orm

from aiida_perovskite.calculations.lammps import LammpsSegmentCalculation
from aiida_perovskite.parsers.lammps import LammpsSegmentParser

from .conftest import FIXTURES

PARAMETERS = json.loads((FIXTURES / 'lammps' / 'parameters.json').read_text())

#: Case: the exit code the parser must return (None: success).
CASES = {
    'finished': None,
    'timed_out': 'ERROR_TIMEOUT_WITH_RESTART',
    'killed_with_restart': 'ERROR_KILLED_WITH_RESTART',
    'killed_without_restart': 'ERROR_KILLED_WITHOUT_RESTART',
    'lammps_error': 'ERROR_LAMMPS',
    'lost_atoms': 'ERROR_LOST_ATOMS',
}


def parse(generate_calc_job_node, case, parameters=None):
    node = generate_calc_job_node('perovskite.lammps', case, {'parameters': orm.Dict(parameters or PARAMETERS[case])})
    return LammpsSegmentParser.parse_from_node(node, store_provenance=False)


@pytest.mark.parametrize('case', CASES)
def test_lammps(generate_calc_job_node, data_regression, case):
    results, calcfunction = parse(generate_calc_job_node, case)
    label = CASES[case]
    expected = 0 if label is None else LammpsSegmentCalculation.exit_codes[label].status
    assert calcfunction.exit_status == expected, calcfunction.exit_message
    data = {'exit_message': calcfunction.exit_message, 'output_parameters': results['output_parameters'].get_dict()}
    if 'thermo' in results:
        thermo = results['thermo']
        data['thermo'] = {name: thermo.get_array(name).tolist() for name in ('step', 'temp', 'pe', 'vol')}
    if 'final_data' in results:
        data['final_data'] = results['final_data'].get_content().splitlines()[2:4]  # atoms and atom types
    data_regression.check(data)


def test_outputs_attached_before_the_error(generate_calc_job_node):
    """An interrupted segment still hands over the thermo rows it printed, at the thermo grid only."""
    results, calcfunction = parse(generate_calc_job_node, 'killed_with_restart')
    assert not calcfunction.is_finished_ok
    assert results['thermo'].get_array('step').tolist() == [0, 50, 100, 150, 200]
    assert results['output_parameters']['wrote_restart'] is True


def test_missing_log(generate_calc_job_node, tmp_path):
    (tmp_path / 'lammps.out').write_text('mpirun: killed\n')
    results, calcfunction = parse(generate_calc_job_node, tmp_path, PARAMETERS['finished'])
    assert calcfunction.exit_status == LammpsSegmentCalculation.exit_codes.ERROR_LOG_MISSING.status
    assert 'mpirun: killed' in calcfunction.exit_message and not results


def test_unreadable_thermo(generate_calc_job_node, tmp_path):
    """Thermo columns that change between blocks are not this project's script: refuse them."""
    text = (FIXTURES / 'lammps' / 'finished' / 'log.lammps').read_text()
    (tmp_path / 'log.lammps').write_text(text + '\nStep Temp\n 0 300\n')
    _, calcfunction = parse(generate_calc_job_node, tmp_path, PARAMETERS['finished'])
    assert calcfunction.exit_status == LammpsSegmentCalculation.exit_codes.ERROR_THERMO_PARSING.status
