"""``MlipCalculation`` run for real on the test computer with this virtualenv's Python (the registered ``mlip`` code)."""

import pytest
from aiida import orm
from aiida.engine import run_get_node

from aiida_perovskite.builder import alkylammonium, layered_perovskite
from aiida_perovskite.calculations.mlip import MlipCalculation


@pytest.fixture
def mlip_code(aiida_localhost):
    from aiida_perovskite.tools.codes import register_local_codes

    return register_local_codes(aiida_localhost)['mlip']


@pytest.fixture
def structure():
    """(BDA)PbI4, Dion-Jacobson, ideal geometry: 25 atoms."""
    return orm.StructureData(pymatgen=layered_perovskite(alkylammonium(4, diammonium=True), phase='DJ'))


def test_not_converged_run_is_continued_from_its_parent_folder(mlip_code, structure):
    parameters = orm.Dict({'potential': 'chgnet', 'max_steps': 3})
    results, node = run_get_node(MlipCalculation, code=mlip_code, structure=structure, parameters=parameters)
    assert node.exit_status == MlipCalculation.exit_codes.ERROR_NOT_CONVERGED.status, node.exit_message
    assert 'compress stage did not converge' in node.exit_message
    # Outputs are attached before the exit code: the last configuration, forces, stress and the record.
    summary = results['output_parameters'].get_dict()
    assert summary['potential']['name'] == 'chgnet' and len(summary['potential']['weights_sha256']) == 64
    assert summary['stages'][0]['steps'] == 3 and 'forces_ev_a' not in summary and 'settings' not in summary
    assert results['forces'].get_array('forces').shape == (len(structure.sites), 3)
    stress = results['stress'].get_array('stress')
    assert stress.shape == (3, 3) and abs(stress).max() < 10  # GPa
    assert len(results['structure'].sites) == len(structure.sites)
    assert results['structure'].get_cell_volume() < structure.get_cell_volume()  # 1 GPa compresses it

    again, second = run_get_node(MlipCalculation, code=mlip_code, structure=structure, parameters=parameters,
                                 parent_folder=node.outputs.remote_folder)
    stage = again['output_parameters']['stages'][0]
    assert stage['resumed'] and stage['steps_this_run'] == 3 and stage['steps'] == 6, stage
    assert second.exit_status == MlipCalculation.exit_codes.ERROR_NOT_CONVERGED.status


def test_converged_run_with_d3_finishes_ok(mlip_code, structure):
    parameters = orm.Dict({'potential': 'sevennet+d3', 'fmax': 5.0, 'stress_tolerance_gpa': 5.0})
    results, node = run_get_node(MlipCalculation, code=mlip_code, structure=structure, parameters=parameters)
    assert node.is_finished_ok, node.exit_message
    summary = results['output_parameters'].get_dict()
    assert summary['status'] == 'converged' and [s['name'] for s in summary['stages']] == ['compress', 'relax']
    assert summary['potential']['dispersion']['cutoff_bohr'] == 40.0
    assert summary['potential']['dispersion']['damping'] == 'bj'
    assert -5.5 < summary['energy_per_atom_ev'] < -3.0


def test_parameters_are_validated_before_submission(mlip_code, structure):
    with pytest.raises(ValueError, match='unknown potential'):
        run_get_node(MlipCalculation, code=mlip_code, structure=structure, parameters=orm.Dict({'potential': 'mace'}))


def test_setup_registers_this_virtualenvs_python(mlip_code):
    import sys

    assert mlip_code.default_calc_job_plugin == 'perovskite.mlip'
    assert str(mlip_code.filepath_executable) == sys.executable  # the venv's link, not the system interpreter


def test_commands_of_a_classical_run_do_not_need_the_mlip_code(aiida_localhost, tmp_path):
    """A computer registered from a config without ``mlip`` still runs ``run`` and ``validate``."""
    from aiida_perovskite.toolchain import executable
    from aiida_perovskite.tools.codes import CLASSICAL_TOOLS, PROGRAMS, load_codes, register_from_config

    config = {'computer': {'label': 'no-mlip', 'work_dir': str(tmp_path)},
              'codes': {tool: {'executable': str(executable(PROGRAMS.get(tool, tool)))} for tool in CLASSICAL_TOOLS}}
    register_from_config(config)
    assert sorted(load_codes('no-mlip', CLASSICAL_TOOLS)) == sorted(CLASSICAL_TOOLS)
    with pytest.raises(LookupError, match="no code 'mlip' on no-mlip"):
        load_codes('no-mlip', ('mlip',))
