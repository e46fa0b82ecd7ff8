"""``QEqActiveLearningWorkChain`` end to end: a committee trained, MD frames chosen by it, labelled by a real
XtbLabelCalculation on the test computer, merged, and the grown set trained on again, every step a node."""

import pytest

from aiida_perovskite.mlip import sampling, xtb

SETTINGS = {'method': 'GFN1-xTB', 'accuracy': 1.0, 'electronic_temperature_k': 300.0}
PARAMETERS = {
    'hyperparameters': {'n_features': 12, 'n_sensitivities': 10},
    'training': {'epochs': 40, 'charge_epochs': 15, 'seed': 5},
    'active': {'members': 2, 'temperatures_k': [250.0], 'steps': 20, 'interval': 5, 'count': 2, 'max_rounds': 1,
               'lower_ev_a': 0.0, 'upper_ev_a': 5.0, 'per_trajectory': 1},
}


@pytest.fixture
def inputs(aiida_localhost):
    from aiida import orm

    from aiida_perovskite.data import ConfigurationSetData
    from aiida_perovskite.tools.codes import register_local_codes

    cell = sampling.primitive(sampling.ruddlesden_popper(1))
    labelled, failures, _ = xtb.label_all(sampling.sample(cell, 100.0, 8, seed=21, max_strain=0.01), SETTINGS)
    assert not failures
    record = xtb.record(SETTINGS)
    return {
        'configurations': ConfigurationSetData.from_atoms(labelled[:6], labels=record),
        'held_out': ConfigurationSetData.from_atoms(labelled[6:], labels=record),
        'cells': ConfigurationSetData.from_atoms([cell]),
        'parameters': orm.Dict(PARAMETERS),
        'code': register_local_codes(aiida_localhost)['mlip'],
    }


def test_a_round_of_active_learning_is_recorded_in_the_graph(inputs):
    from aiida import orm
    from aiida.engine import run_get_node

    from aiida_perovskite.calculations.xtb import XtbLabelCalculation
    from aiida_perovskite.workflows.qeq_active import QEqActiveLearningWorkChain

    results, node = run_get_node(QEqActiveLearningWorkChain, **inputs)
    assert node.is_finished_ok, node.exit_message
    rounds = results['history']['rounds']
    assert [entry['round'] for entry in rounds] == [0, 1] and [entry['n_training'] for entry in rounds] == [6, 8]
    assert rounds[0]['selection']['n_frames'] == 12 and rounds[0]['n_added'] == 2
    assert all(0 < entry['errors']['forces_mae_ev_a'] < 2 for entry in rounds)

    grown = results['configurations']
    assert grown.base.attributes.get('n_configurations') == 8
    added = grown.configurations()[6:]
    assert all(0 < atoms.info['origin']['force_deviation_ev_a'] <= 5 for atoms in added)
    assert all(atoms.info['origin']['md_temperature_k'] == 250.0 for atoms in added)
    # Provenance: the grown set merges the start with what a real tblite job labelled, in the start's settings;
    # the frames it labelled were chosen by the first committee, whose members learnt from the start.
    merge = grown.creator
    assert merge.process_type == 'aiida.calculations:perovskite.qeq_merge'
    labelled = merge.inputs.set_1.creator
    assert labelled.process_class is XtbLabelCalculation and labelled.is_finished_ok
    assert labelled.inputs.parameters['method'] == 'GFN1-xTB' and labelled.inputs.parameters['accuracy'] == 1.0
    explore = labelled.inputs.configurations.creator
    assert explore.process_type == 'aiida.calculations:perovskite.qeq_explore'
    members = [explore.inputs[f'member_{k}'] for k in (0, 1)]
    assert all(member.creator.inputs.configurations.uuid == inputs['configurations'].uuid for member in members)
    assert members[0].creator.inputs.parameters['training']['seed'] == 5
    assert members[1].creator.inputs.parameters['training']['seed'] == 6
    # The output is the best round's committee (a later round can be worse), trained on that round's set; the
    # QueryBuilder finds the labelling in the work chain.
    (best,) = [entry for entry in rounds if entry.get('best')]
    assert results['potential'].uuid == best['committee'][0]
    assert results['potential'].creator.inputs.configurations.uuid == best['training_set']
    assert {results['committee'][key].uuid for key in ('member_0', 'member_1')} == set(best['committee'])
    assert rounds[1]['training_set'] == grown.uuid
    query = orm.QueryBuilder().append(orm.WorkChainNode, filters={'id': node.pk}, tag='wc').append(
        XtbLabelCalculation, with_incoming='wc')
    assert query.count() == 1


def test_unknown_settings_and_unlabelled_sets_are_refused(inputs):
    from aiida import orm
    from aiida.engine import run_get_node

    from aiida_perovskite.data import ConfigurationSetData
    from aiida_perovskite.workflows.qeq_active import QEqActiveLearningWorkChain

    _, node = run_get_node(QEqActiveLearningWorkChain, **{**inputs, 'parameters': orm.Dict({'active': {'round': 2}})})
    assert node.exit_status == 200 and 'unknown active-learning settings' in node.exit_message
    unlabelled = ConfigurationSetData.from_atoms(inputs['held_out'].configurations())
    _, node = run_get_node(QEqActiveLearningWorkChain, **{**inputs, 'held_out': unlabelled})
    assert node.exit_status == 200 and 'held_out is not labelled' in node.exit_message


def test_learn_command_runs_the_work_chain_and_refuses_an_unlabelled_start(inputs):
    from aiida import orm
    from click.testing import CliRunner

    from aiida_perovskite.cli import cmd_root
    from aiida_perovskite.data import ConfigurationSetData

    start, held_out = inputs['configurations'].store(), inputs['held_out'].store()
    # No round of exploration: the committee is trained and scored once; the table and the nodes come back.
    result = CliRunner().invoke(cmd_root, ['potential', 'learn', start.uuid, str(held_out.pk), '--rounds', '0',
                                           '--members', '2', '--epochs', '5', '--charge-epochs', '5'])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    table = lines[lines.index(next(line for line in lines if line.lstrip().startswith('round'))) + 1].split()
    assert table[:2] == ['0', '6'] and float(table[2]) > 0 and float(table[3]) > 0
    potential = orm.load_node(int(result.output.split('QEqPotentialData<')[-1].split('>')[0]))
    assert potential.creator.inputs.configurations.uuid == start.uuid

    unlabelled = ConfigurationSetData.from_atoms(start.configurations()).store()
    result = CliRunner().invoke(cmd_root, ['potential', 'learn', str(unlabelled.pk), str(held_out.pk)])
    assert result.exit_code != 0 and f'CONFIGURATIONS ConfigurationSetData<{unlabelled.pk}> is not labelled' in result.output
