"""``perovskite.mlip`` parser on stored real driver outputs (see fixtures/mlip/make_fixtures.py)."""

import json

import numpy as np
import pytest
from aiida import orm

from aiida_perovskite.calculations.mlip import MlipCalculation
from aiida_perovskite.parsers.mlip import MlipParser

from .conftest import FIXTURES

PARAMETERS = json.loads((FIXTURES / 'mlip' / 'parameters.json').read_text())

#: Case: the exit code the parser must return (None: success).
CASES = {
    'converged': None,
    'not_converged': 'ERROR_NOT_CONVERGED',
    'volume_change': 'ERROR_VOLUME_CHANGE',
    'driver_error': 'ERROR_MLIP_DRIVER',
}


def parse(generate_calc_job_node, case, parameters=None):
    node = generate_calc_job_node('perovskite.mlip', case, {'parameters': orm.Dict(parameters or PARAMETERS[case])})
    return MlipParser.parse_from_node(node, store_provenance=False)


@pytest.mark.parametrize('case', CASES)
def test_mlip(generate_calc_job_node, data_regression, case):
    results, calcfunction = parse(generate_calc_job_node, case)
    label = CASES[case]
    expected = 0 if label is None else MlipCalculation.exit_codes[label].status
    assert calcfunction.exit_status == expected, calcfunction.exit_message
    data = {'exit_message': calcfunction.exit_message, 'outputs': sorted(results)}
    if 'output_parameters' in results:
        summary = results['output_parameters'].get_dict()
        # Where the weights lay and how long it took depend on the machine that made the fixture.
        summary['potential'].pop('weights_path')
        for key in ('seconds', 'seconds_per_step'):
            summary.pop(key)
        data['output_parameters'] = summary
    data_regression.check(data)


def test_every_result_carries_the_potential_and_consistent_arrays(generate_calc_job_node):
    for case in ('converged', 'not_converged', 'volume_change'):
        results, _ = parse(generate_calc_job_node, case)
        summary = results['output_parameters'].get_dict()
        assert summary['potential']['name'] == 'chgnet' and len(summary['potential']['weights_sha256']) == 64
        stress = results['stress'].get_array('stress')
        assert np.allclose(np.diag(stress), summary['stress_gpa'][:3]) and np.allclose(stress, stress.T)
        forces = results['forces'].get_array('forces')
        assert forces.shape == (summary['n_atoms'], 3)
        assert np.isclose(np.linalg.norm(forces, axis=1).max(), summary['max_force_ev_a'])
        assert len(results['structure'].sites) == summary['n_atoms']


def test_missing_results(generate_calc_job_node, tmp_path):
    (tmp_path / 'mlip.out').write_text('')
    results, calcfunction = parse(generate_calc_job_node, tmp_path, PARAMETERS['converged'])
    assert calcfunction.exit_status == MlipCalculation.exit_codes.ERROR_OUTPUT_MISSING.status and not results


def test_unreadable_results(generate_calc_job_node, tmp_path):
    text = (FIXTURES / 'mlip' / 'converged' / 'results.json').read_text()
    (tmp_path / 'results.json').write_text(text[: len(text) // 2])  # cut as a full disk leaves it
    _, calcfunction = parse(generate_calc_job_node, tmp_path, PARAMETERS['converged'])
    assert calcfunction.exit_status == MlipCalculation.exit_codes.ERROR_OUTPUT_UNREADABLE.status


def test_non_finite_results_are_broken_physics(generate_calc_job_node, tmp_path):
    """A NaN energy (written by the driver as JSON NaN) gives ERROR_NON_FINITE and no structure or arrays."""
    document = json.loads((FIXTURES / 'mlip' / 'volume_change' / 'results.json').read_text())
    document['energy_ev'] = float('nan')
    document['broken'] = {'reason': 'non_finite', 'message': 'the potential returned a non-finite energy'}
    (tmp_path / 'results.json').write_text(json.dumps(document))
    results, calcfunction = parse(generate_calc_job_node, tmp_path, PARAMETERS['volume_change'])
    assert calcfunction.exit_status == MlipCalculation.exit_codes.ERROR_NON_FINITE.status
    assert sorted(results) == ['output_parameters'] and results['output_parameters']['energy_ev'] is None
