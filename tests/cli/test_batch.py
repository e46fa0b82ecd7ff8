"""Every batch command on a folder holding one bad file of every ``StructureError`` class beside good files.

Each bad file is reported on one line (file, error class, message), the good files are still processed,
and the exit status is 1. The bad files are made from good cells by the makers of
tests/structure/test_errors.py (hydrogens deleted, an unsupported element, a partial occupancy, ...).
"""

from __future__ import annotations

import json
import pathlib
import re

import pytest
from aiida import orm
from click.testing import CliRunner

from aiida_perovskite import structure
from aiida_perovskite.builder import alkylammonium, layered_perovskite
from aiida_perovskite.cli import cmd_root
from tests.structure import test_errors as corpus


def structure_error_classes() -> set:
    """Every subclass of StructureError, at any depth (a new class must get its bad file below)."""
    found, todo = set(), [structure.StructureError]
    while todo:
        for subclass in todo.pop().__subclasses__():
            found.add(subclass)
            todo.append(subclass)
    return found


def not_layered(good, write_cif):
    return write_cif(corpus.cubic_mapbi3(), 'bad.cif')


def garbage(good, write_cif):
    return write_cif('this is not a CIF at all\n\x00\x01 garbage\n', 'bad.cif')


@pytest.fixture
def batch_folder(tmp_path, butanediammonium_dj, write_cif):
    """``cifs/``: two good cells and one bad file per StructureError class (named after the class)."""
    folder = tmp_path / 'cifs'  # the makers write beside it (write_cif: tmp_path), each file is moved in
    folder.mkdir()

    makers = {error_class: make for make, error_class, _ in corpus.BAD_INPUTS[::-1]}  # the first maker of each
    makers[structure.NotLayeredError] = not_layered
    makers[structure.UnreadableCifError] = garbage
    missing = structure_error_classes() - set(makers)
    assert not missing, f'no bad file for {sorted(c.__name__ for c in missing)}: add a maker to this test'
    expected = {}
    for error_class, make in makers.items():
        path = folder / f'bad_{error_class.__name__}.cif'
        make(butanediammonium_dj, write_cif).rename(path)
        expected[path.name] = error_class.__name__
    butanediammonium_dj.to(filename=str(folder / 'good_bda.cif'))
    layered_perovskite(alkylammonium(3, diammonium=True), phase='DJ').to(filename=str(folder / 'good_pda.cif'))
    return folder, expected


def one_line_per_bad_file(output: str, folder: pathlib.Path, expected: dict) -> None:
    """Each bad file on exactly one line ``FILE: ErrorClass: message``, no traceback, no line for a good file."""
    assert 'Traceback' not in output
    for name, error_class in expected.items():
        lines = [line for line in output.splitlines() if name in line]
        assert len(lines) == 1, (name, lines)
        assert re.match(rf'^{re.escape(str(folder / name))}: {error_class}: \S', lines[0]), lines[0]
    for line in output.splitlines():
        assert not re.match(rf'^{re.escape(str(folder))}/good_\w+\.cif: \w+(Error|Exception): ', line), line


def test_inspect(batch_folder):
    folder, expected = batch_folder
    result = CliRunner().invoke(cmd_root, ['inspect', str(folder)])
    assert result.exit_code == 1
    one_line_per_bad_file(result.stderr, folder, expected)
    assert f'{len(expected) + 2} file(s): 2 decomposed, {len(expected)} failed' in result.stderr
    assert '[NH3+]CCCC[NH3+]' in result.stdout and '[NH3+]CCC[NH3+]' in result.stdout


@pytest.fixture
def submitted(aiida_localhost, monkeypatch):
    """``run --daemon``'s submissions, each created (not run) instead of going to a daemon: their nodes."""
    from aiida.manage import get_manager

    from aiida_perovskite.cli import run as run_module
    from aiida_perovskite.tools.codes import register_local_codes

    register_local_codes(aiida_localhost)
    nodes = []

    def submit(builder):
        node = get_manager().create_runner(communicator=None).instantiate_process(builder).node
        nodes.append(node)
        return node

    monkeypatch.setattr('aiida.engine.submit', submit)
    monkeypatch.setattr(run_module, 'start_daemon', lambda workers=1: None)
    return nodes


def test_run_with_the_daemon_submits_the_good_ones(batch_folder, aiida_profile, submitted):
    """``run --daemon --no-wait``: the daemon is replaced by creating each submitted process (not run)."""
    folder, expected = batch_folder
    result = CliRunner().invoke(cmd_root, ['run', str(folder), '--daemon', '--no-wait', '--protocol', 'fast',
                                           '--group', 'batch-run', '--profile', aiida_profile.name])
    assert result.exit_code == 1, result.output
    one_line_per_bad_file(result.stderr, folder, expected)
    assert sorted(node.inputs.cif.filename for node in submitted) == ['good_bda.cif', 'good_pda.cif']
    assert {node.pk for node in orm.load_group('batch-run').nodes} == {node.pk for node in submitted}
    for name in ('good_bda.cif', 'good_pda.cif'):
        assert f'{folder / name}: submitted MaterialWorkChain<' in result.stdout


def test_screen(batch_folder, aiida_profile):
    """A real (linear) model of the temperature alone: every decomposable CIF is ranked, the bad ones reported."""
    from sklearn.linear_model import LinearRegression

    from aiida_perovskite.data import TrainedModelData

    estimator = LinearRegression().fit([[200.0], [300.0], [400.0]], [1.0, 2.0, 3.0])
    model = TrainedModelData.from_estimator(estimator, task='cp_u', family='ols', feature_names=['thermo:temperature'],
                                            rmse=0.1, units='kcal/mol/K per atom').store()
    folder, expected = batch_folder
    for store in ('--no-store', '--store'):
        result = CliRunner().invoke(cmd_root, ['screen', str(folder), '--model', str(model.pk), store,
                                               '--profile', aiida_profile.name])
        assert result.exit_code == 1, result.output
        one_line_per_bad_file(result.stderr, folder, expected)
        assert f'2 ranked, {len(expected)} failed' in result.stdout
        assert 'good_bda.cif' in result.stdout and 'good_pda.cif' in result.stdout


def test_validate(batch_folder, aiida_profile, aiida_localhost):
    """A real short NPT of each good cell; the bad files never start a run."""
    from aiida_perovskite.tools.codes import register_local_codes

    register_local_codes(aiida_localhost)
    folder, expected = batch_folder
    (folder / 'good_pda.cif').unlink()  # one real validation is enough here
    result = CliRunner().invoke(cmd_root, [
        'validate', str(folder), '--charges', 'myp', '--steps', '100', '--partial-charges', 'gas', '--min-width', '8',
        '--group', 'batch-validation', '--computer', aiida_localhost.label, '--profile', aiida_profile.name])
    assert result.exit_code == 1, result.output
    one_line_per_bad_file(result.stderr, folder, expected)
    assert f'1 validation(s), {len(expected)} failed' in result.stderr
    (node,) = orm.load_group('batch-validation').nodes
    assert node.is_finished_ok and node.outputs.validation['file'] == 'good_bda.cif'


def test_run_disorder_major_puts_the_policy_on_the_decomposition(tmp_path, butylammonium_rp, aiida_profile, submitted):
    """A disordered CIF is refused by ``run``, and with ``--disorder major`` submitted with the policy as an input
    of its decomposition (so that the work chain reads it as ``inspect`` did)."""
    from aiida_perovskite.tools.validation import prepare_validations, validation_overrides
    from tests.structure.test_disorder import disordered_cif

    path = tmp_path / 'disordered.cif'
    path.write_text(disordered_cif(butylammonium_rp))
    arguments = ['run', str(path), '--daemon', '--no-wait', '--protocol', 'fast', '--group', 'disorder-run',
                 '--profile', aiida_profile.name]
    refused = CliRunner().invoke(cmd_root, arguments)
    assert refused.exit_code == 1 and f'{path}: DisorderError: ' in refused.stderr and not submitted

    result = CliRunner().invoke(cmd_root, [*arguments, '--disorder', 'major', '--hydrogens', 'add'])
    assert result.exit_code == 0, result.output
    (node,) = submitted
    assert node.inputs.parametrise.decompose_parameters.get_dict() == {'disorder': 'major', 'hydrogens': 'add'}
    assert f'{path}: disorder resolved to its major component: kept group 1 of assembly A' in result.stdout
    # validate checks and says the same before anything runs, and passes the policy down to its material
    (job,) = prepare_validations(path, 300.0, [('formal', 'myp-pbi-uffi')], reading={'disorder': 'major'})
    assert job.notes == ('disorder resolved to its major component: kept group 1 of assembly A (1: 0.7, 2: 0.3); '
                         '8 partially occupied site(s) filled; 8 site(s) dropped',)
    # validate passes the same policy down to its material's parametrisation
    assert validation_overrides(reading={'disorder': 'major'}) == {
        'material': {'parametrise': {'decompose_parameters': {'disorder': 'major'}}}}
    assert validation_overrides() == {}


def test_screen_disorder_major_ranks_a_disordered_cif(tmp_path, butylammonium_rp, aiida_profile):
    """In memory and with provenance: refused by default, ranked as its major component with ``--disorder major``,
    the policy an input of the stored decomposition."""
    from sklearn.linear_model import LinearRegression

    from aiida_perovskite.data import TrainedModelData
    from tests.structure.test_disorder import disordered_cif

    estimator = LinearRegression().fit([[30.0], [40.0], [50.0]], [3.0, 4.0, 5.0])  # the atoms of the cell / 10
    model = TrainedModelData.from_estimator(estimator, task='v_atom', family='ols', feature_names=['cell:n_atoms'],
                                            rmse=0.1, units='A^3').store()
    path = tmp_path / 'disordered.cif'
    path.write_text(disordered_cif(butylammonium_rp))
    for store in ('--no-store', '--store'):
        arguments = ['screen', str(path), '--model', str(model.pk), store, '--json', '--profile', aiida_profile.name]
        refused = CliRunner().invoke(cmd_root, arguments)
        assert refused.exit_code == 1 and 'DisorderError' in refused.stderr
        result = CliRunner().invoke(cmd_root, [*arguments, '--disorder', 'major'])
        assert result.exit_code == 0, result.output
        (record,) = [json.loads(line) for line in result.stdout.splitlines()]
        # the major component's 39 atoms, not the 39 + 8 carbons of both positions
        assert record['smiles'] == 'CCCC[NH3+]' and abs(record['prediction'] - len(butylammonium_rp) / 10) < 1e-6
    decomposition = orm.QueryBuilder().append(orm.CalcFunctionNode, filters={'attributes.function_name': 'decompose_cif'},
                                              tag='calc').append(orm.Dict, with_outgoing='calc', project='*').all(flat=True)
    assert {'disorder': 'major'} in [node.get_dict() for node in decomposition]
