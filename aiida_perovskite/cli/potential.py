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


@cmd_potential.command('label')
@click.option('--cell', type=click.Choice(sorted(CELLS)), default='cs2pbi4', show_default=True,
              help='The ideal Ruddlesden-Popper crystal the configurations derive from (14, 7 or 12 atoms).')
@click.option('--count', type=click.IntRange(min=1), default=8, show_default=True, help='Configurations.')
@click.option('--temperature', type=float, default=300.0, show_default=True, help='Of the thermal rattle (K).')
@click.option('--max-strain', type=float, default=0.02, show_default=True, help='Largest strain component.')
@click.option('--vacancy', 'vacancies', multiple=True, type=click.Choice(['none', 'I', 'Cs', 'CsI']),
              help='Cycle through these defects (repeatable; default: none).')
@click.option('--charged', is_flag=True, help='Remove the ion, not the atom, at an I or Cs vacancy: a charged cell '
                                             '(+1 or -1) instead of an open shell.')
@click.option('--method', type=click.Choice(['GFN1-xTB', 'GFN2-xTB']), default='GFN1-xTB', show_default=True)
@click.option('--replicate', type=int, nargs=3, default=(1, 1, 1), show_default=True,
              help='Label on this supercell (a k-point grid for the Gamma-only tblite).')
@click.option('--seed', type=int, default=0, show_default=True)
@COMPUTER
@PROFILE
def cmd_label(cell, count, temperature, max_strain, vacancies, charged, method, replicate, seed, computer,
              profile_name):
    """Sample configurations and label them with tblite in an XtbLabelCalculation (the `mlip` code's Python)."""
    codes = load_profile_and_codes(profile_name, computer, tools=('mlip',))
    from aiida import orm
    from aiida.engine import run_get_node

    from aiida_perovskite.calculations.xtb import XtbLabelCalculation
    from aiida_perovskite.data import ConfigurationSetData
    from aiida_perovskite.mlip import sampling

    n, primitive = CELLS[cell]
    base = sampling.ruddlesden_popper(n)
    base = sampling.primitive(base) if primitive else base
    configurations = []
    for index in range(count):  # 'none' in the cycle keeps a pristine share
        kinds = list(vacancies) or ['none']
        kind = kinds[index % len(kinds)]
        configurations += sampling.sample(base, temperature, 1, seed=seed + index, max_strain=max_strain,
                                          vacancies=() if kind == 'none' else (kind,), charged=charged)
    unlabelled = ConfigurationSetData.from_atoms(configurations)
    click.echo(f'labelling {count} configurations of {base.get_chemical_formula()} with {method} '
               f'(ConfigurationSetData<{unlabelled.pk}>)...', err=True)
    parameters = orm.Dict({'method': method, 'replicate': list(replicate)})
    results, node = run_get_node(XtbLabelCalculation, code=codes['mlip'], configurations=unlabelled,
                                 parameters=parameters)
    if 'configurations' not in results:
        raise click.ClickException(f'XtbLabelCalculation<{node.pk}> failed: {node.exit_message}')
    labelled = results['configurations']
    seconds = sum(results['output_parameters']['seconds'])
    click.echo(f'ConfigurationSetData<{labelled.pk}> {labelled.uuid}: {labelled.base.attributes.get("n_configurations")} '
               f'labelled configurations in {seconds:.0f} s (XtbLabelCalculation<{node.pk}>)')
    if not node.is_finished_ok:
        click.echo(f'  warning: {node.exit_message}', err=True)


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
