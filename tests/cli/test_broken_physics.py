"""Broken physics is a flag, never a silent success.

A real validation whose octahedra come apart: the (BDA)PbI4 cell with every charge scaled by 0.05
(``scaled:0.05``) loses the Coulomb attraction that holds Pb and I together; 200 + 200 NPT steps at
300 K leave no octahedron intact and the volume about 45% larger (measured: 0/4 intact, +44.7%).
`validate` exits 1 and says why, the work chains end with ERROR_BROKEN_PHYSICS keeping their outputs,
`status` and `report` show the flag, and the dataset leaves the material out unless asked.
"""

import re

import pytest
from aiida import orm
from click.testing import CliRunner

from aiida_perovskite.cli import cmd_root
from aiida_perovskite.common.exit_codes import EXIT_CODES
from tests.conftest import local_computer

BROKEN = EXIT_CODES['ERROR_BROKEN_PHYSICS'].status


@pytest.fixture(scope='module')
def broken_validation(aiida_profile, tmp_path_factory):
    from aiida_perovskite.builder import alkylammonium, layered_perovskite

    computer, _ = local_computer('broken-localhost', tmp_path_factory.mktemp('work'))
    cif = tmp_path_factory.mktemp('cifs') / 'bda.cif'
    layered_perovskite(alkylammonium(4, diammonium=True), phase='DJ').to(filename=str(cif))
    result = CliRunner().invoke(cmd_root, [
        'validate', str(cif), '--charges', 'scaled:0.05', '--steps', '200', '--partial-charges', 'gas',
        '--min-width', '8', '--group', 'broken', '--computer', computer.label, '--profile', aiida_profile.name])
    (node,) = orm.load_group('broken').nodes
    material = next(child for child in node.called if child.process_label == 'MaterialWorkChain')
    material.base.extras.set_many({'cif_file': str(cif), 'protocol': 'screening'})
    orm.Group(label='broken-materials').store().add_nodes(material)
    return result, cif, node, material


def test_validate_exits_non_zero_and_says_why(broken_validation):
    result, cif, node, _ = broken_validation
    assert result.exit_code == 1, result.output
    assert 'Traceback' not in result.output
    assert '(input cell: 100%)' in result.output  # the input cell was sound
    line = next(line for line in result.output.splitlines() if line.startswith(f'{cif}: BrokenPhysics: '))
    assert 'octahedra broke: 0% intact against 100% in the input cell' in line
    assert '1 validation(s), 1 with broken physics, 0 failed' in result.output


def test_the_nodes_are_marked_and_keep_their_outputs(broken_validation):
    _, _, node, material = broken_validation
    assert node.exit_status == BROKEN and 'octahedra broke' in node.exit_message
    validation = node.outputs.validation.get_dict()
    assert validation['physics']['broken'] and validation['octahedra']['share'] < 0.5
    assert material.exit_status == BROKEN and material.outputs.physics['broken']
    assert {'targets', 'features'} <= set(material.outputs)  # kept, for whoever asks for them


def test_status_and_report_show_the_flag(broken_validation, aiida_profile):
    runner = CliRunner()
    status = runner.invoke(cmd_root, ['status', '--group', 'broken-materials', '--profile', aiida_profile.name])
    assert status.exit_code == 0, status.output
    row = next(line for line in status.output.splitlines() if 'bda.cif' in line)
    assert 'broken physics' in row and 'octahedra broke' in row and '[broken_physics' in row
    assert '1 material(s): 0 finished, 1 broken physics (flagged), 0 failed, 0 in progress' in status.output
    report = runner.invoke(cmd_root, ['report', '--group', 'broken-materials', '--profile', aiida_profile.name])
    assert report.exit_code == 0, report.output
    assert 'broken_physics' in report.output and '0 finished, 1 broken physics (flagged), 0 failed' in report.output
    assert 'bda.cif: Broken physics: octahedra broke' in report.output


def test_the_dataset_leaves_it_out_unless_asked(broken_validation, aiida_profile):
    runner = CliRunner()
    common = ['--group', 'broken-materials', '--profile', aiida_profile.name]
    excluded = runner.invoke(cmd_root, ['dataset', *common])
    assert excluded.exit_code == 1 and 'Traceback' not in excluded.output
    assert excluded.output.strip().splitlines()[-1] == (
        "Error: group 'broken-materials' has no finished material left: all 1 flagged with broken physics are "
        'excluded (`dataset --include-broken` keeps them)')
    kept = runner.invoke(cmd_root, ['dataset', *common, '--include-broken'])
    assert kept.exit_code == 0, kept.output
    assert ': 1 materials, 1 rows' in kept.output


def test_train_on_too_few_materials_is_one_line(broken_validation, aiida_profile, caplog):
    """With nothing left, and with one material (one temperature: no Cp(U), too few for folds)."""
    runner = CliRunner()
    common = ['--group', 'broken-materials', '--profile', aiida_profile.name]
    nothing = runner.invoke(cmd_root, ['train', *common, '--target', 'v_atom'])
    assert nothing.exit_code == 1 and 'Traceback' not in nothing.output
    assert nothing.output.strip().splitlines()[-1].startswith(
        "Error: group 'broken-materials' has no finished material left: all 1 flagged with broken physics")
    # Its one temperature gives no Cp(U); it is also flagged unstable (its volume fluctuates): nothing is left.
    for target, reason in (('v_atom', 'no rows left for task v_atom after exclusions'),
                           ('cp_u', 'no rows left for task cp_u after exclusions')):
        few = runner.invoke(cmd_root, ['train', *common, '--include-broken', '--target', target])
        assert few.exit_code == 1 and 'Traceback' not in few.output + few.stderr, few.output
        last = few.output.strip().splitlines()[-1]
        assert last.startswith('Error: cannot train on DatasetData<') and reason in last, last
    assert not [record for record in caplog.records if record.exc_info], 'the engine logged a traceback'


def test_dataset_reports_a_material_it_cannot_use_and_goes_on(broken_validation, aiida_profile):
    """A finished material without its ladder outputs (a stand-in node) is one line; the dataset is still made."""
    import io

    from aiida.common.links import LinkType
    from aiida.engine import ProcessState

    _, _, _, material = broken_validation
    stand_in = orm.WorkChainNode()
    stand_in.set_process_label('MaterialWorkChain')
    stand_in.set_process_state(ProcessState.FINISHED)
    stand_in.set_exit_status(0)
    cif = orm.CifData(file=io.BytesIO(b'data_stand_in\n'), filename='hollow.cif', parse_policy='lazy').store()
    stand_in.base.links.add_incoming(cif, LinkType.INPUT_WORK, 'cif')
    stand_in.store()
    stand_in.base.extras.set_many({'cif_file': 'cifs/hollow.cif', 'protocol': 'screening'})
    group = orm.Group(label='dataset-batch').store()
    group.add_nodes([material, stand_in])
    result = CliRunner().invoke(cmd_root, ['dataset', '--group', 'dataset-batch', '--include-broken',
                                           '--profile', aiida_profile.name])
    assert result.exit_code == 1 and 'Traceback' not in result.output
    (line,) = [line for line in result.stderr.splitlines() if 'hollow.cif' in line]
    assert re.match(r'^cifs/hollow\.cif: \w+Error: \S', line), line  # file, error class, message
    assert ': 1 materials, 1 rows' in result.stdout
