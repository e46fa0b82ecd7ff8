"""``MlipRelaxWorkChain``: its handlers on planted failed calculations, its protocols, and a real continued run."""

import pytest
from aiida import orm
from aiida.engine import run_get_node
from aiida.engine.utils import instantiate_process
from aiida.manage import get_manager

from aiida_perovskite.builder import alkylammonium, layered_perovskite
from aiida_perovskite.calculations.mlip import MlipCalculation
from aiida_perovskite.workflows.mlip import MlipRelaxWorkChain

from .conftest import reports

CALC = MlipCalculation.exit_codes
CHAIN = MlipRelaxWorkChain.exit_codes


@pytest.fixture
def structure():
    """(BDA)PbI4, Dion-Jacobson, ideal geometry: 25 atoms."""
    return orm.StructureData(pymatgen=layered_perovskite(alkylammonium(4, diammonium=True), phase='DJ'))


@pytest.fixture
def generate_workchain(aiida_code_installed, structure):
    code = aiida_code_installed(default_calc_job_plugin='perovskite.mlip', filepath_executable='/bin/true')

    def generate(protocol=None, overrides=None) -> MlipRelaxWorkChain:
        builder = MlipRelaxWorkChain.get_builder_from_protocol(code, structure, protocol, overrides)
        process = instantiate_process(get_manager().get_runner(), MlipRelaxWorkChain, **builder._inputs(prune=True))
        process.setup()
        return process

    return generate


@pytest.fixture
def plant_child(plant_failed_child):
    """A failed MLIP calculation as the process's latest attempt."""
    return plant_failed_child


def test_not_converged_continues_from_the_last_frame(generate_workchain, plant_child):
    process = generate_workchain()
    child = plant_child(process, CALC.ERROR_NOT_CONVERGED, stage='compress', force=0.3, stress=0.8)
    assert process.inspect_process().status == 0  # handled: run again
    assert process.ctx.inputs.parent_folder.uuid == child.outputs.remote_folder.uuid
    assert process.ctx.inputs.parameters.get_dict() == {}  # same settings: the trajectory continues
    assert 'Continuing from RemoteData' in reports(process)


@pytest.mark.parametrize('label', ['ERROR_NON_FINITE', 'ERROR_VOLUME_CHANGE', 'ERROR_MLIP_DRIVER',
                                   'ERROR_OUTPUT_MISSING', 'ERROR_OUTPUT_UNREADABLE'])
def test_broken_physics_and_driver_errors_stop_at_once(generate_workchain, plant_child, label):
    process = generate_workchain()
    child = plant_child(process, CALC[label], stage='compress', message='the volume changed by +40%')
    result = process.inspect_process()
    assert result.status == CHAIN.ERROR_SUB_PROCESS_FAILED_MLIP.status and f'<{child.pk}>' in result.message
    assert 'parent_folder' not in process.ctx.inputs and 'not recoverable' in reports(process)


@pytest.mark.parametrize('label', sorted(label for label, code in MlipCalculation.spec().exit_codes.items()
                                         if code.status >= 200))
def test_every_failure_of_the_calculation_has_its_handler(generate_workchain, plant_child, label):
    process = generate_workchain()
    plant_child(process, CALC[label], stage='compress', force=0.3, stress=0.8, message='m')
    assert process.inspect_process().status != CHAIN.ERROR_UNHANDLED_FAILURE.status
    assert 'unhandled failure' not in reports(process)


def test_protocols_change_only_what_they_name(generate_workchain):
    assert sorted(MlipRelaxWorkChain.get_available_protocols()) == ['fast', 'screening', 'thesis']
    assert MlipRelaxWorkChain.get_default_protocol() == 'screening'
    fast = generate_workchain('fast', {'parameters': {'potential': 'sevennet+d3'}, 'max_iterations': 3})
    assert fast.ctx.inputs.parameters.get_dict() == {'fmax': 0.1, 'stress_tolerance_gpa': 0.2, 'max_steps': 150,
                                                     'potential': 'sevennet+d3'}
    assert fast.inputs.max_iterations.value == 3
    assert generate_workchain('thesis').ctx.inputs.parameters['fmax'] == 0.02


def test_real_runs_continue_each_other(aiida_localhost, structure):
    """Two runs of two steps: the second continues the first's compress stage (4 steps in all), then the
    iteration limit stops the chain."""
    from aiida_perovskite.tools.codes import register_local_codes

    code = register_local_codes(aiida_localhost)['mlip']
    builder = MlipRelaxWorkChain.get_builder_from_protocol(code, structure, overrides={
        'max_iterations': 2, 'parameters': {'max_steps': 2}})
    results, node = run_get_node(builder)
    children = sorted(node.called, key=lambda child: child.ctime)
    assert [child.exit_status for child in children] == [CALC.ERROR_NOT_CONVERGED.status] * 2
    assert node.exit_status == MlipRelaxWorkChain.exit_codes.ERROR_MAXIMUM_ITERATIONS_EXCEEDED.status
    stage = children[1].outputs.output_parameters['stages'][0]
    assert stage['resumed'] and stage['steps'] == 4 and stage['steps_this_run'] == 2
    assert children[1].inputs.parent_folder.uuid == children[0].outputs.remote_folder.uuid
