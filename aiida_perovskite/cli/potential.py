"""``aiida-perovskite potential label|train|evaluate``: a HIP-NN potential with learned charges on GFN1-xTB data."""

from __future__ import annotations

import contextlib

import click

from .common import load_profile, load_profile_and_codes
from .params import COMPUTER, PROFILE

CELLS = {'cs2pbi4': (1, False), 'cs2pbi4-primitive': (1, True), 'cs3pb2i7': (2, True)}


def _load(identifier: str, cls):
    from aiida import orm
    from aiida.common.exceptions import MultipleObjectsError, NotExistent

    try:
        node = orm.load_node(identifier)
    except (NotExistent, MultipleObjectsError, ValueError) as error:
        raise click.ClickException(f'no node {identifier!r}: {error}') from None
    if not isinstance(node, cls):
        raise click.ClickException(f'{identifier} is a {type(node).__name__}, not a {cls.__name__}')
    return node


@contextlib.contextmanager
def _progress(logger_name: str):
    """The core's progress lines (its logger at INFO) on stderr while a step runs."""
    import logging

    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter('  %(asctime)s %(message)s', datefmt='%H:%M:%S'))
    logger = logging.getLogger(logger_name)
    level, propagate = logger.level, logger.propagate
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
        logger.propagate = propagate


@click.group('potential')
def cmd_potential():
    """Label configurations with GFN1-xTB, train a HIP-NN potential with learned charges, evaluate it."""


def _ideal(name: str):
    """The ideal crystal ``name`` of :data:`CELLS`."""
    from aiida_perovskite.mlip import sampling

    n, primitive = CELLS[name]
    base = sampling.ruddlesden_popper(n)
    return sampling.primitive(base) if primitive else base


def _report(node, results, what: str):
    """Stop with the job's message if it made no output; warn (not stop) when it finished with a flag."""
    if what not in results:
        raise click.ClickException(f'XtbLabelCalculation<{node.pk}> failed: {node.exit_message}')
    if not node.is_finished_ok:
        click.echo(f'  warning: [{node.exit_status}] {node.exit_message}', err=True)


@cmd_potential.command('relax')
@click.option('--cell', 'cells', multiple=True, type=click.Choice(sorted(CELLS)),
              help='Ideal crystals to relax (repeatable; default: cs2pbi4 and cs3pb2i7).')
@click.option('--method', type=click.Choice(['GFN1-xTB', 'GFN2-xTB']), default='GFN1-xTB', show_default=True)
@click.option('--replicate', type=int, nargs=3, default=(1, 1, 1), show_default=True,
              help='Relax on this supercell (the k-point grid the labels will use; 2 2 1 for size-converged labels).')
@click.option('--fmax', type=float, help='Largest force left (eV/A; default: aiida_perovskite.mlip.xtb.RELAX_DEFAULTS).')
@click.option('--max-steps', type=click.IntRange(min=1), help='FIRE steps at most (default: as --fmax).')
@COMPUTER
@PROFILE
def cmd_relax(cells, method, replicate, fmax, max_steps, computer, profile_name):
    """Relax crystals with the reference (positions and cell) in an XtbLabelCalculation: the cells to sample
    around with `label --cells` and to explore from with `learn --cells` (GFN1-xTB holds the ideal 3.2 A crystals
    under gigapascals of tension, so configurations sampled around them are not the states MD visits)."""
    codes = load_profile_and_codes(profile_name, computer, tools=('mlip',))
    import numpy as np
    from aiida import orm
    from aiida.engine import run_get_node

    from aiida_perovskite.calculations.xtb import XtbLabelCalculation
    from aiida_perovskite.data import ConfigurationSetData

    crystals = [_ideal(name) for name in cells or ('cs2pbi4', 'cs3pb2i7')]
    start = ConfigurationSetData.from_atoms(crystals)
    click.echo(f'relaxing {len(crystals)} crystals with {method} on their {"x".join(map(str, replicate))} '
               f'supercells (minutes each)...', err=True)
    results, node = run_get_node(XtbLabelCalculation, code=codes['mlip'], configurations=start,
                                 parameters=orm.Dict({'method': method, 'replicate': list(replicate)}),
                                 relax=orm.Dict({key: value for key, value in (('fmax', fmax), ('max_steps', max_steps))
                                                 if value is not None}))
    _report(node, results, 'relaxed')
    relaxed = results['relaxed']
    for before, after in zip(crystals, relaxed.configurations()):
        entry = after.info['origin']['relaxation']
        repeat = np.asarray(entry['supercell'])
        change = after.get_volume() / np.prod(repeat) / before.get_volume() - 1
        click.echo(f'  {before.get_chemical_formula()}: a b c per cell {np.round(after.cell.lengths() / repeat, 3).tolist()}'
                   f' A, volume {change:+.1%}, {entry["steps"]} steps, max force {entry["max_force_ev_a"]:.3f} eV/A'
                   f'{"" if entry["converged"] else " (not converged)"}'
                   f'{"" if list(repeat) == [1, 1, 1] else f", tilted: the whole {len(after)}-atom supercell"}')
    click.echo(f'ConfigurationSetData<{relaxed.pk}> {relaxed.uuid}: {len(crystals)} relaxed cells '
               f'(XtbLabelCalculation<{node.pk}>)')


@cmd_potential.command('label')
@click.option('--cell', type=click.Choice(sorted(CELLS)),
              help='The ideal Ruddlesden-Popper crystal the configurations derive from (14, 7 or 12 atoms; default: '
                   'cs2pbi4).')
@click.option('--cells', 'cells_node', help='Or a ConfigurationSetData (PK or UUID) of cells to sample around, in turn: '
                                            'the output of `potential relax` (recommended).')
@click.option('--count', type=click.IntRange(min=1), default=8, show_default=True, help='Configurations.')
@click.option('--temperature', type=float, default=300.0, show_default=True,
              help='Of the thermal rattle (K, nominal: atoms move independently, so a 300 K rattle holds about '
                   '1,400 K of harmonic energy; 60 K is closer to MD at room temperature).')
@click.option('--max-strain', type=float, default=0.02, show_default=True, help='Largest strain component.')
@click.option('--vacancy', 'vacancies', multiple=True, type=click.Choice(['none', 'I', 'Cs', 'CsI']),
              help='Cycle through these defects (repeatable; default: none).')
@click.option('--charged', is_flag=True, help='Remove the ion, not the atom, at an I or Cs vacancy: a charged cell '
                                             '(+1 or -1) instead of an open shell.')
@click.option('--method', type=click.Choice(['GFN1-xTB', 'GFN2-xTB']), default='GFN1-xTB', show_default=True)
@click.option('--replicate', type=int, nargs=3,
              help='Label on this supercell (a k-point grid for the Gamma-only tblite; default: 1 1 1, or with '
                   '--cells the grid they were relaxed on).')
@click.option('--seed', type=int, default=0, show_default=True)
@COMPUTER
@PROFILE
def cmd_label(cell, cells_node, count, temperature, max_strain, vacancies, charged, method, replicate, seed, computer,
              profile_name):
    """Sample configurations and label them with tblite in an XtbLabelCalculation (the `mlip` code's Python)."""
    codes = load_profile_and_codes(profile_name, computer, tools=('mlip',))
    from aiida import orm
    from aiida.engine import run_get_node

    from aiida_perovskite.calculations.xtb import XtbLabelCalculation
    from aiida_perovskite.data import ConfigurationSetData
    from aiida_perovskite.mlip import sampling, xtb

    if cell and cells_node:
        raise click.ClickException('give --cell or --cells, not both')
    if cells_node:
        bases = _load(cells_node, ConfigurationSetData).configurations()
        grids = {tuple(atoms.info.get('origin', {}).get('relax_replicate', (1, 1, 1))) for atoms in bases}
        if replicate is None and len(grids) == 1:
            replicate = grids.pop()
        try:
            bases, settings = xtb.sampling_cells(bases, {'method': method, 'replicate': list(replicate or (1, 1, 1))})
        except ValueError as error:
            raise click.ClickException(f'--cells {cells_node}: {error}') from None
    else:
        bases = [_ideal(cell or 'cs2pbi4')]
        settings = xtb.validate_settings({'method': method, 'replicate': list(replicate or (1, 1, 1))})
    configurations = []
    for index in range(count):  # 'none' in the cycle keeps a pristine share
        kinds = list(vacancies) or ['none']
        kind = kinds[(index // len(bases)) % len(kinds)]
        configurations += sampling.sample(bases[index % len(bases)], temperature, 1, seed=seed + index,
                                          max_strain=max_strain, vacancies=() if kind == 'none' else (kind,),
                                          charged=charged)
    unlabelled = ConfigurationSetData.from_atoms(configurations)
    formulas = ', '.join(sorted({atoms.get_chemical_formula() for atoms in bases}))
    click.echo(f'labelling {count} configurations of {formulas} with {method} on '
               f'{"x".join(map(str, settings["replicate"]))} (ConfigurationSetData<{unlabelled.pk}>)...', err=True)
    results, node = run_get_node(XtbLabelCalculation, code=codes['mlip'], configurations=unlabelled,
                                 parameters=orm.Dict({'method': method, 'replicate': settings['replicate']}))
    _report(node, results, 'configurations')
    labelled = results['configurations']
    seconds = sum(results['output_parameters']['seconds'])
    click.echo(f'ConfigurationSetData<{labelled.pk}> {labelled.uuid}: {labelled.base.attributes.get("n_configurations")} '
               f'labelled configurations in {seconds:.0f} s (XtbLabelCalculation<{node.pk}>)')


@cmd_potential.command('train')
@click.argument('configurations')
@click.option('--no-charges', is_flag=True, help='The short-range-only comparator (no charges, no electrostatics).')
@click.option('--epochs', type=click.IntRange(min=1), default=60, show_default=True)
@click.option('--charge-epochs', type=click.IntRange(min=0), default=40, show_default=True)
@click.option('--seed', type=int, default=0, show_default=True)
@PROFILE
def cmd_train_potential(configurations, no_charges, epochs, charge_epochs, seed, profile_name):
    """Train a potential on a labelled ConfigurationSetData (PK or UUID) and store it as a QEqPotentialData."""
    load_profile(profile_name)
    from aiida import orm

    from aiida_perovskite.calculations.functions.qeq import train_qeq_potential
    from aiida_perovskite.data import ConfigurationSetData

    data = _load(configurations, ConfigurationSetData)
    parameters = {'hyperparameters': {'charges': not no_charges},
                  'training': {'epochs': epochs, 'charge_epochs': charge_epochs, 'seed': seed}}
    click.echo(f'training on ConfigurationSetData<{data.pk}> ({data.base.attributes.get("n_configurations")} '
               'configurations)...', err=True)
    with _progress('aiida_perovskite.mlip.qeq'):
        potential, node = train_qeq_potential.run_get_node(data, orm.Dict(parameters))
    if not node.is_finished_ok:
        raise click.ClickException(f'training failed: {node.exit_message}')
    metrics = potential.base.attributes.get('metrics')
    charge = metrics['charges_mae_e']
    click.echo(f'QEqPotentialData<{potential.pk}> {potential.uuid}: training-set MAE energy '
               f'{1000 * metrics["energy_mae_ev_atom"]:.2f} meV/atom, forces {metrics["forces_mae_ev_a"]:.3f} eV/A'
               + (f', charges {charge:.4f} e' if charge is not None else ''))
    click.echo('  use it in an MlipCalculation as the qeq_potential input')


@cmd_potential.command('evaluate')
@click.argument('potential')
@click.argument('configurations')
@PROFILE
def cmd_evaluate(potential, configurations, profile_name):
    """Errors of a QEqPotentialData on a labelled ConfigurationSetData, beside trivial baselines from its
    training set."""
    load_profile(profile_name)
    from aiida_perovskite.data import ConfigurationSetData, QEqPotentialData
    from aiida_perovskite.mlip import qeq

    model_node = _load(potential, QEqPotentialData)
    test = _load(configurations, ConfigurationSetData)
    if not test.labelled:
        raise click.ClickException(f'ConfigurationSetData<{test.pk}> is not labelled')
    errors = qeq.errors(model_node.model(), test.configurations())
    charge = errors['charges_mae_e']
    click.echo(f'{errors["n_configurations"]} configurations: MAE energy {1000 * errors["energy_mae_ev_atom"]:.2f} '
               f'meV/atom, forces {errors["forces_mae_ev_a"]:.3f} eV/A, stress {errors["stress_mae_ev_a3"]:.4f} eV/A^3'
               + (f', charges {charge:.4f} e' if charge is not None else ''))
    creator = model_node.creator
    if creator is not None and 'configurations' in creator.inputs:
        base = qeq.baselines(creator.inputs.configurations.configurations(), test.configurations())
        click.echo(f'baselines: mean energy {1000 * base["energy_mean_mae_ev_atom"]:.2f} meV/atom, composition fit '
                   f'{1000 * base["energy_composition_mae_ev_atom"]:.2f} meV/atom, zero forces '
                   f'{base["forces_zero_mae_ev_a"]:.3f} eV/A, element-mean charges {base["charges_element_mean_mae_e"]:.4f} e')


@cmd_potential.command('learn')
@click.argument('configurations')
@click.argument('held_out')
@click.option('--cell', 'cells', multiple=True, type=click.Choice(sorted(CELLS)),
              help='Ideal crystals the exploring MD starts from (repeatable; default: cs2pbi4-primitive).')
@click.option('--cells', 'cells_node', help='Or a ConfigurationSetData (PK or UUID) of starting crystals, e.g. '
                                            'cells relaxed with the reference.')
@click.option('--rounds', type=click.IntRange(min=0), default=3, show_default=True, help='At most this many rounds.')
@click.option('--count', type=click.IntRange(min=1), default=12, show_default=True, help='Frames labelled per round.')
@click.option('--members', type=click.IntRange(min=2), default=3, show_default=True, help='Models in the committee.')
@click.option('--steps', type=click.IntRange(min=1), default=300, show_default=True,
              help='MD steps per exploring trajectory (2 fs).')
@click.option('--epochs', type=click.IntRange(min=1), default=60, show_default=True)
@click.option('--charge-epochs', type=click.IntRange(min=0), default=40, show_default=True)
@click.option('--no-charges', is_flag=True, help='A committee of short-range-only models.')
@click.option('--seed', type=int, default=0, show_default=True)
@COMPUTER
@PROFILE
def cmd_learn(configurations, held_out, cells, cells_node, rounds, count, members, steps, epochs, charge_epochs,
              no_charges, seed, computer, profile_name):
    """Grow a labelled set with the MD frames a committee of potentials disagrees on (QEqActiveLearningWorkChain).

    CONFIGURATIONS is the labelled set to start from, HELD_OUT a labelled set never trained on (its errors
    decides when to stop). Each round trains the committee, explores with MD, labels the chosen frames with
    tblite (as CONFIGURATIONS was labelled) and adds them.
    """
    codes = load_profile_and_codes(profile_name, computer, tools=('mlip',))
    from aiida import orm
    from aiida.engine import run_get_node

    from aiida_perovskite.data import ConfigurationSetData
    from aiida_perovskite.workflows.qeq_active import QEqActiveLearningWorkChain

    start, test = _load(configurations, ConfigurationSetData), _load(held_out, ConfigurationSetData)
    for name, node in (('CONFIGURATIONS', start), ('HELD_OUT', test)):
        if not node.labelled:
            raise click.ClickException(f'{name} ConfigurationSetData<{node.pk}> is not labelled: label it first')
    if cells_node and cells:
        raise click.ClickException('give --cell or --cells, not both')
    if cells_node:
        crystals = _load(cells_node, ConfigurationSetData)
    else:
        crystals = ConfigurationSetData.from_atoms([_ideal(name) for name in cells or ('cs2pbi4-primitive',)])
    parameters = {'hyperparameters': {'charges': not no_charges},
                  'training': {'epochs': epochs, 'charge_epochs': charge_epochs, 'seed': seed},
                  'active': {'members': members, 'count': count, 'max_rounds': rounds, 'steps': steps}}
    click.echo(f'active learning from ConfigurationSetData<{start.pk}> ({start.base.attributes.get("n_configurations")} '
               f'configurations), held out <{test.pk}>, at most {rounds} rounds of {count} frames...', err=True)
    with _progress('aiida_perovskite.mlip'):
        results, node = run_get_node(QEqActiveLearningWorkChain, configurations=start, held_out=test, cells=crystals,
                                     parameters=orm.Dict(parameters), code=codes['mlip'])
    if not node.is_finished_ok:
        raise click.ClickException(f'QEqActiveLearningWorkChain<{node.pk}> failed: [{node.exit_status}] '
                                   f'{node.exit_message}')
    click.echo(f'{"round":>5}{"n train":>9}{"E meV/atom":>12}{"F eV/A":>9}{"added":>7}')
    for entry in results['history']['rounds']:
        errors = entry['errors']
        click.echo(f'{entry["round"]:>5}{entry["n_training"]:>9}{1000 * errors["energy_mae_ev_atom"]:>12.2f}'
                   f'{errors["forces_mae_ev_a"]:>9.3f}{entry.get("n_added", "-"):>7}')
    potential, grown = results['potential'], results['configurations']
    click.echo(f'QEqPotentialData<{potential.pk}> {potential.uuid} trained on ConfigurationSetData<{grown.pk}> '
               f'({grown.base.attributes.get("n_configurations")} configurations); QEqActiveLearningWorkChain<{node.pk}>')
