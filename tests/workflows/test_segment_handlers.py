"""``LammpsSegmentWorkChain``'s process handlers, each on a planted failed LAMMPS calculation.

As aiida-quantumespresso tests its restart chains: the work chain is instantiated (not run),
a finished ``CalcJobNode`` with an exit status and outputs is put in ``ctx.children``, and
``inspect_process`` is called; the test reads the report, the next attempt's inputs or the
abort code.
"""

import pytest
from aiida import orm
from aiida.engine.utils import instantiate_process
from aiida.manage import get_manager

from aiida_perovskite.calculations.lammps import LammpsSegmentCalculation
from aiida_perovskite.data import LammpsTopologyData
from aiida_perovskite.forcefield import load_parameter_set
from aiida_perovskite.forcefield.lammps import build_system
from aiida_perovskite.workflows.ladder import TemperatureLadderWorkChain, segment_settings
from aiida_perovskite.workflows.segment import LammpsSegmentWorkChain

from .conftest import reports

CALC = LammpsSegmentCalculation.exit_codes
CHAIN = LammpsSegmentWorkChain.exit_codes


@pytest.fixture
def generate_workchain(aiida_code_installed):
    """An instantiated segment work chain after ``setup``, for ``parameters`` (segment settings)."""
    from pymatgen.core import Lattice, Structure

    code = aiida_code_installed(default_calc_job_plugin='perovskite.lammps', filepath_executable='/bin/true')
    pbi2 = Structure(Lattice.hexagonal(4.56, 6.98), ['Pb', 'I', 'I'],
                     [[0, 0, 0], [1 / 3, 2 / 3, 0.25], [2 / 3, 1 / 3, 0.75]])
    system = build_system(None, [(s.specie.symbol, s.coords) for s in pbi2], pbi2.lattice.matrix,
                          load_parameter_set('myp-pbi'))
    topology = LammpsTopologyData.from_system(system, cutoff=10.0, kspace_accuracy=1e-4).store()

    ladder = TemperatureLadderWorkChain.get_protocol_inputs('fast')

    def generate(parameters: dict, parent_folder: orm.RemoteData | None = None) -> LammpsSegmentWorkChain:
        # The fast protocol's complete segment, with the test's own settings on top.
        settings = segment_settings(ladder, topology, parameters.get('stage', 'npt'), temperature=300.0)
        lammps = {'code': code, 'topology': topology, 'parameters': orm.Dict({**settings, **parameters})}
        if parent_folder is not None:
            lammps['parent_folder'] = parent_folder
        process = instantiate_process(get_manager().get_runner(), LammpsSegmentWorkChain, lammps=lammps)
        process.setup()
        return process

    return generate


@pytest.fixture
def plant_child(plant_failed_child):
    """A failed LAMMPS calculation whose output_parameters say whether it ``wrote_restart``."""

    def plant(process, exit_code, wrote_restart: bool = False, **message) -> orm.CalcJobNode:
        parameters = orm.Dict({'wrote_restart': wrote_restart, 'steps_run': 0, 'end_step': None})
        return plant_failed_child(process, exit_code, {'output_parameters': parameters}, **message)

    return plant


NPT = {'stage': 'npt', 'target_step': 2000, 'timestep': 1.0, 'create_velocities': True, 'restart_every': 500}


@pytest.mark.parametrize('label', ['ERROR_LAMMPS', 'ERROR_LOG_MISSING', 'ERROR_THERMO_PARSING'])
def test_unrecoverable_failure_stops_at_once(generate_workchain, plant_child, label):
    process = generate_workchain(NPT)
    child = plant_child(process, CALC[label], message='Unknown command: bogus')
    result = process.inspect_process()
    assert result.status == CHAIN.ERROR_SUB_PROCESS_FAILED_LAMMPS.status
    assert f'<{child.pk}>' in result.message and 'not recoverable, stopping' in reports(process)
    assert 'parent_folder' not in process.ctx.inputs  # no further attempt was prepared


def test_lost_atoms_retry_from_the_restart_with_half_the_step(generate_workchain, plant_child):
    process = generate_workchain(NPT)
    child = plant_child(process, CALC.ERROR_LOST_ATOMS, wrote_restart=True, message='Lost atoms: original 54 now 51')
    assert process.inspect_process().status == 0  # handled: 0 means run again
    parameters = process.ctx.inputs.parameters.get_dict()
    assert parameters['timestep'] == 0.5 and parameters['create_velocities'] is False
    assert parameters['target_step'] == 2000
    assert process.ctx.inputs.parent_folder.uuid == child.outputs.remote_folder.uuid
    assert 'time step halved to 0.5 fs' in reports(process) and 'newest restart' in reports(process)


def test_unstable_run_from_scratch_without_restart_starts_again(generate_workchain, plant_child):
    """Nothing to resume from: the same start (new velocities from the same seed) with half the step."""
    process = generate_workchain({**NPT, 'timestep': 2.0})
    plant_child(process, CALC.ERROR_UNSTABLE, wrote_restart=False, message='Out of range atoms')
    assert process.inspect_process().status == 0
    parameters = process.ctx.inputs.parameters.get_dict()
    assert parameters['timestep'] == 1.0 and parameters['create_velocities'] is True
    assert 'parent_folder' not in process.ctx.inputs
    assert 'from the initial configuration' in reports(process)


def test_instability_after_halving_aborts(generate_workchain, plant_child):
    process = generate_workchain(NPT)
    plant_child(process, CALC.ERROR_LOST_ATOMS, wrote_restart=True, message='Lost atoms')
    assert process.inspect_process().status == 0
    plant_child(process, CALC.ERROR_UNSTABLE, wrote_restart=True, message='Out of range atoms')
    result = process.inspect_process()
    assert result.status == CHAIN.ERROR_UNSTABLE_DYNAMICS.status and 'Out of range atoms' in result.message
    assert process.ctx.inputs.parameters['timestep'] == 0.5  # not halved a second time
    assert 'broke again, aborting' in reports(process)


def test_unstable_minimisation_aborts(generate_workchain, plant_child):
    """A minimisation has no time step to shorten."""
    process = generate_workchain({'stage': 'minimise', 'target_step': 0})
    plant_child(process, CALC.ERROR_LOST_ATOMS, message='Lost atoms')
    assert process.inspect_process().status == CHAIN.ERROR_UNSTABLE_DYNAMICS.status


@pytest.mark.parametrize('label', ['ERROR_TIMEOUT_WITH_RESTART', 'ERROR_KILLED_WITH_RESTART',
                                   'ERROR_KILLED_WITHOUT_RESTART'])
def test_interrupted_segment_resumes_with_the_same_step(generate_workchain, plant_child, label):
    process = generate_workchain(NPT)
    child = plant_child(process, CALC[label], end=700, last=700, target=2000)
    assert process.inspect_process().status == 0
    parameters = process.ctx.inputs.parameters.get_dict()
    assert parameters['timestep'] == 1.0 and parameters['create_velocities'] is False
    assert process.ctx.inputs.parent_folder.uuid == child.outputs.remote_folder.uuid
    assert 'resuming' in reports(process)


@pytest.mark.parametrize('label', sorted(label for label, code in LammpsSegmentCalculation.spec().exit_codes.items()
                                         if code.status >= 200))
def test_every_failure_of_the_calculation_has_its_handler(generate_workchain, plant_child, label):
    """No exit code of the calculation falls through to the generic unhandled-failure path."""
    process = generate_workchain(NPT)
    plant_child(process, CALC[label], message='m', end=700, last=700, target=2000)
    result = process.inspect_process()
    assert result.status != CHAIN.ERROR_UNHANDLED_FAILURE.status
    assert 'unhandled failure' not in reports(process)
