"""``QEqActiveLearningWorkChain``: grow a QEq potential's training set with the MD frames its committee disagrees on."""

from __future__ import annotations

from aiida import orm
from aiida.engine import ToContext, WorkChain, if_, while_

from aiida_perovskite.calculations.functions.qeq import (
    explore_with_committee,
    merge_configuration_sets,
    score_qeq_potential,
    train_qeq_potential,
)
from aiida_perovskite.calculations.xtb import XtbLabelCalculation
from aiida_perovskite.common.exit_codes import declare
from aiida_perovskite.data.configurations import ConfigurationSetData
from aiida_perovskite.mlip import active
from aiida_perovskite.mlip.xtb import DEFAULTS as LABEL_DEFAULTS


class QEqActiveLearningWorkChain(WorkChain):
    """Rounds of :mod:`aiida_perovskite.mlip.active` with every step a process and every set a node.

    Each round: ``train`` the committee (``train_qeq_potential`` per member, seeds ``seed + k``); ``score`` the
    first member on ``held_out`` (``score_qeq_potential``) and stop when its energy and force errors stopped
    improving (:func:`aiida_perovskite.mlip.active.converged`) or after ``max_rounds``; else ``explore``
    (``explore_with_committee``: MD with the first member from ``cells``, the frames the committee disagrees on
    inside the trust window), ``label`` them with an ``XtbLabelCalculation`` on ``code``'s computer, labelled
    exactly as the training set was (its labels record), and ``merge`` them into the training set.
    Every round is checkpointed: an interrupted run resumes at the step it reached. The outputs are the
    committee of the best round (:func:`aiida_perovskite.mlip.active.best_round`: a later round can be worse)
    and the whole grown set.
    """

    @classmethod
    def define(cls, spec):
        super().define(spec)
        spec.input('configurations', valid_type=ConfigurationSetData, help='The labelled set to start from.')
        spec.input('held_out', valid_type=ConfigurationSetData,
                   help='Labelled configurations never trained on; their energy and force errors decide when to stop.')
        spec.input('cells', valid_type=ConfigurationSetData, help='The crystals exploring MD starts from.')
        spec.input('parameters', valid_type=orm.Dict,
                   help='hyperparameters and training (of train_qeq_potential), active (over '
                        'aiida_perovskite.mlip.active.DEFAULTS).')
        spec.input('code', valid_type=orm.AbstractCode, help='The Python code that labels (XtbLabelCalculation).')
        spec.input('options', valid_type=dict, non_db=True, required=False,
                   help='metadata.options of each XtbLabelCalculation.')
        spec.outline(
            cls.setup,
            cls.train,
            cls.score,
            while_(cls.should_continue)(
                cls.explore,
                if_(cls.found_frames)(
                    cls.label,
                    cls.merge,
                    cls.train,
                    cls.score,
                ),
            ),
            cls.finalise,
        )
        spec.output('potential', valid_type=orm.Data,
                    help="The best round's first committee member (QEqPotentialData).")
        spec.output_namespace('committee', valid_type=orm.Data, dynamic=True, help="The best round's committee.")
        spec.output('configurations', valid_type=ConfigurationSetData, help='The grown training set.')
        spec.output('history', valid_type=orm.Dict,
                    help='Per round: training size, held-out errors, selection counts, nodes made.')
        declare(spec, 'ERROR_INVALID_PARAMETERS', 'ERROR_SUB_PROCESS_FAILED_TRAINING',
                'ERROR_SUB_PROCESS_FAILED_LABELLING')

    def setup(self):
        given = self.inputs.parameters.get_dict()
        unknown = sorted(set(given) - {'hyperparameters', 'training', 'active'})
        if unknown:
            return self.exit_codes.ERROR_INVALID_PARAMETERS.format(
                message=f'unknown parameter(s) {unknown}: use hyperparameters, training, active')
        try:
            self.ctx.settings = active.validate(given.get('active'))
        except ValueError as error:
            return self.exit_codes.ERROR_INVALID_PARAMETERS.format(message=str(error))
        for name in ('configurations', 'held_out'):
            if not self.inputs[name].labelled:
                return self.exit_codes.ERROR_INVALID_PARAMETERS.format(message=f'{name} is not labelled')
        record = self.inputs.configurations.base.attributes.get('labels')
        self.ctx.labelling = {key: record[key] for key in LABEL_DEFAULTS if key in record}
        self.ctx.training = self.inputs.configurations
        self.ctx.round = 0
        self.ctx.history = []
        return None

    def train(self):
        given = self.inputs.parameters.get_dict()
        training = dict(given.get('training') or {})
        seed = int(training.get('seed', 0))
        self.ctx.committee = []
        for member in range(int(self.ctx.settings['members'])):
            parameters = orm.Dict({'hyperparameters': given.get('hyperparameters') or {},
                                   'training': {**training, 'seed': seed + member}})
            results, node = train_qeq_potential.run_get_node(
                self.ctx.training, parameters,
                metadata={'call_link_label': f'train_round_{self.ctx.round}_member_{member}'})
            if not node.is_finished_ok:
                return self.exit_codes.ERROR_SUB_PROCESS_FAILED_TRAINING.format(
                    message=f'{node.process_label}<{node.pk}> [{node.exit_status}] {node.exit_message}')
            self.ctx.committee.append(results)
        return None

    def score(self):
        errors = score_qeq_potential(self.ctx.committee[0], self.inputs.held_out,
                                     metadata={'call_link_label': f'score_round_{self.ctx.round}'})
        entry = {'round': self.ctx.round, 'n_training': self.ctx.training.base.attributes.get('n_configurations'),
                 'errors': errors.get_dict(), 'training_set': self.ctx.training.uuid,
                 'committee': [member.uuid for member in self.ctx.committee]}
        self.ctx.history.append(entry)
        self.report(f'round {self.ctx.round}: {entry["n_training"]} training configurations; held-out MAE '
                    f'{1000 * entry["errors"]["energy_mae_ev_atom"]:.1f} meV/atom, '
                    f'{entry["errors"]["forces_mae_ev_a"]:.3f} eV/A')

    def should_continue(self):
        settings = self.ctx.settings
        if self.ctx.round >= int(settings['max_rounds']):
            return False
        if self.ctx.history[-1].get('stop'):  # the last exploration found nothing to learn
            return False
        return not active.converged(self.ctx.history, tolerance=float(settings['tolerance']),
                                    patience=int(settings['patience']))

    def explore(self):
        committee = {f'member_{index}': member for index, member in enumerate(self.ctx.committee)}
        results = explore_with_committee(self.inputs.cells, orm.Dict(self.ctx.settings),
                                         orm.Int(1000 * (self.ctx.round + 1)), **committee,
                                         metadata={'call_link_label': f'explore_round_{self.ctx.round}'})
        self.ctx.history[-1]['selection'] = results['selection'].get_dict()
        self.ctx.frames = results.get('frames')
        if self.ctx.frames is None:
            self.ctx.history[-1]['stop'] = 'no explored frame inside the trust window'
            self.report(f'round {self.ctx.round}: no explored frame inside the trust window; stopping')

    def found_frames(self):
        return self.ctx.frames is not None

    def label(self):
        inputs = {'code': self.inputs.code, 'configurations': self.ctx.frames,
                  'parameters': orm.Dict(self.ctx.labelling),
                  'metadata': {'call_link_label': f'label_round_{self.ctx.round}',
                               'options': dict(self.inputs.options) if 'options' in self.inputs else {}}}
        return ToContext(labelled=self.submit(XtbLabelCalculation, **inputs))

    def merge(self):
        node = self.ctx.labelled
        if 'configurations' not in node.outputs:
            return self.exit_codes.ERROR_SUB_PROCESS_FAILED_LABELLING.format(
                message=f'{node.process_label}<{node.pk}> [{node.exit_status}] {node.exit_message}')
        if not node.is_finished_ok:  # some SCFs failed: the labelled rest is still used
            self.report(f'round {self.ctx.round}: {node.exit_message}; the labelled frames are kept')
        added = node.outputs.configurations
        self.ctx.history[-1]['n_added'] = added.base.attributes.get('n_configurations')
        self.ctx.training = merge_configuration_sets(
            set_0=self.ctx.training, set_1=added, metadata={'call_link_label': f'merge_round_{self.ctx.round}'})
        self.ctx.round += 1
        return None

    def finalise(self):
        best = active.best_round(self.ctx.history)
        self.ctx.history[best]['best'] = True
        committee = [orm.load_node(uuid) for uuid in self.ctx.history[best]['committee']]
        self.report(f'round {best} scored best on the held-out set; its committee is the output')
        self.out('potential', committee[0])
        for index, member in enumerate(committee):
            self.out(f'committee.member_{index}', member)
        self.out('configurations', self.ctx.training)
        self.out('history', orm.Dict({'rounds': self.ctx.history}).store())
