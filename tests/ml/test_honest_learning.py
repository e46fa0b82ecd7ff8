"""Honest learning: folds by structure identity, no silent mixing of force fields, an applicability domain.

Each guard is tested by planting what it must catch: the same structure run under two protocols (a leak
when folds group by run), a dataset mixing charge models, and screened cells with an element or a fragment
no training material has.
"""

import types

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LinearRegression

from aiida_perovskite.analysis import structure_elements, structure_features, structure_identity
from aiida_perovskite.builder import alkylammonium, build_perovskite, layered_perovskite
from aiida_perovskite.ml import predict, train
from aiida_perovskite.ml.domain import training_domain
from aiida_perovskite.ml.screening import screen_cifs
from aiida_perovskite.ml.splits import assert_disjoint
from aiida_perovskite.ml.tasks import build_task
from aiida_perovskite.structure import decompose

from .synthetic import memorisation_frame


def two_protocols(frame: pd.DataFrame) -> pd.DataFrame:
    """Every material run again under a second protocol: a new run (material id), the same structure and
    (up to a little noise) the same targets."""
    rng = np.random.default_rng(1)
    first = frame.assign(structure=frame['material'], protocol='screening')
    second = first.assign(material=first['material'] + '-again', protocol='thesis')
    second['v_atom'] = second['v_atom'] + rng.normal(0, 0.02, len(second))
    return pd.concat([first, second], ignore_index=True)


@pytest.fixture(scope='module')
def rerun():
    return two_protocols(memorisation_frame(n_materials=30, seed=5))


def test_one_structure_under_two_protocols_is_one_group(rerun, fast_settings):
    """Folds group by structure: a structure's runs are always on one side, and features that only identify
    the material earn no R2 (at most 0.2, as in test_leakage)."""
    settings = fast_settings.__class__(**{**fast_settings.as_dict(), 'allow_mixed': ('protocol',)})
    result = train(rerun, 'v_atom', settings, families=['random_forest'])
    structures = dict(zip(rerun['material'], rerun['structure']))
    for fold in result.folds.itertuples():
        assert set(fold.train_materials).isdisjoint(fold.test_materials)
    tested = result.predictions.assign(structure=result.predictions['material'].map(structures))
    assert (tested.groupby(['model', 'structure'])['fold'].nunique() == 1).all()
    assert result.metrics.set_index('model').loc['random_forest', 'test_r2_mean'] <= 0.2


def test_the_planted_leak_would_fail_the_bound(rerun, fast_settings):
    """The same table grouped by run (no structure column: the old behaviour) puts a structure's two runs on
    both sides of a split, and the forest scores far above the 0.2 bound by recognising them."""
    settings = fast_settings.__class__(**{**fast_settings.as_dict(), 'allow_mixed': ('protocol',)})
    leaky = train(rerun.drop(columns=['structure']), 'v_atom', settings, families=['random_forest'])
    assert leaky.metrics.set_index('model').loc['random_forest', 'test_r2_mean'] > 0.5
    # And the guard every split passes through refuses such a split outright.
    data = build_task(rerun, 'v_atom', allow_mixed=('protocol',))
    first, again = np.flatnonzero(data.ids['material'] == 'm000'), np.flatnonzero(data.ids['material'] == 'm000-again')
    with pytest.raises(AssertionError, match='on both sides'):
        assert_disjoint(data.groups, first, again)


def test_a_dataset_mixing_force_fields_is_refused_unless_asked(linear_data, fast_settings):
    frame = linear_data[0].copy()
    frame['charge_model'] = np.where(frame['material'] < 'm030', 'formal', 'myp')
    with pytest.raises(ValueError, match=r"mixes 2 values of charge_model \(formal, myp\).*allow_mixed"):
        train(frame, 'cp_u', fast_settings, families=['ridge'])
    # One parameter set name but two different nodes of it is a mixture too.
    same_name = linear_data[0].assign(parameter_set='myp-pbi',
                                      parameter_set_uuid=np.where(linear_data[0]['material'] < 'm030', 'u1', 'u2'))
    with pytest.raises(ValueError, match='parameter_set_uuid'):
        build_task(same_name, 'cp_u')
    assert build_task(frame, 'cp_u', allow_mixed=('charge_model',)).n_materials == 60
    # Volumes from the LAMMPS and OpenMM engines differ by ~0.5 %: one engine per dataset unless asked.
    engines = linear_data[0].assign(engine=np.where(linear_data[0]['material'] < 'm030', 'lammps', 'openmm'))
    with pytest.raises(ValueError, match=r'mixes 2 values of engine \(lammps, openmm\)'):
        build_task(engines, 'cp_u')
    assert build_task(engines, 'cp_u', allow_mixed=('engine',)).n_materials == 60
    with pytest.raises(ValueError, match='unknown columns'):
        build_task(frame, 'cp_u', allow_mixed=('charge_models',))


def test_structure_identity_ignores_the_run_and_the_handedness():
    """The same cell decomposed twice (or with its axes relabelled) is one structure; another spacer is not."""
    butyl = decompose(layered_perovskite(alkylammonium(4))).as_dict()
    pentyl = decompose(layered_perovskite(alkylammonium(5))).as_dict()
    assert structure_identity(butyl) == structure_identity(dict(butyl))
    relabelled = {**butyl, 'lattice': {**butyl['lattice'], 'a': butyl['lattice']['b'], 'b': butyl['lattice']['a']}}
    assert structure_identity(relabelled) == structure_identity(butyl)
    assert structure_identity(pentyl) != structure_identity(butyl)
    mirrored = {**butyl, 'spacers': [{**s, 'smiles': s['smiles'] + '@'} for s in butyl['spacers']]}
    assert structure_identity(mirrored) == structure_identity(butyl)  # the constitution decides


class DomainModel:
    """A fitted model with its training domain: what TrainedModelData offers, without AiiDA."""

    task, family, pk = 'cp_u', 'ols', 0
    base = types.SimpleNamespace(attributes={'units': 'kcal/mol/K per atom'})

    def __init__(self, frame, feature_names):
        self.feature_names = feature_names
        self.estimator = LinearRegression().fit(frame[feature_names].to_numpy(), frame['cp_u'].to_numpy())
        self.domain = training_domain(frame, [name for name in frame.columns if ':' in name])

    def predict(self, frame):
        return predict(self.estimator, frame, self.feature_names)

    def applicability(self, features, elements):
        from aiida_perovskite.ml.domain import assess

        return assess(features, elements, self.domain)


@pytest.fixture(scope='module')
def domain_model():
    """Trained on (C_nH_2n+1NH3)2PbI4, n = 3..8: elements C, H, I, N, Pb; fragments of C, H and N only."""
    rows = []
    for carbons in range(3, 9):
        record = decompose(layered_perovskite(alkylammonium(carbons))).as_dict()
        rows.append({'material': f'c{carbons}', 'structure': structure_identity(record),
                     'elements': ' '.join(structure_elements(record)), 'cp_u': 0.1 * carbons,
                     **structure_features(record)})
    frame = pd.DataFrame(rows).fillna(0.0)
    return DomainModel(frame, ['spacer:n_heavy_atoms'])


def test_screening_flags_unseen_elements_and_fragments(domain_model, tmp_path, capsys):
    from aiida_perovskite.cli.learn import print_ranking

    cells = {
        'known.cif': layered_perovskite(alkylammonium(5)),  # a training cell: in the domain
        'bromide.cif': layered_perovskite(alkylammonium(5), halide='Br'),  # Br: an unseen element
        'thiol.cif': build_perovskite('NCCCCS').structure,  # S: unseen element and fragments
    }
    paths = []
    for name, structure in cells.items():
        structure.to(filename=str(tmp_path / name))
        paths.append(tmp_path / name)
    rows = {row['file'].split('/')[-1]: row for row in screen_cifs(paths, domain_model).rows}
    assert rows['known.cif']['in_domain'] is True
    assert rows['known.cif']['domain']['distance'] < 1e-5  # itself, up to the CIF's rounding
    bromide = rows['bromide.cif']['domain']
    assert not bromide['in_domain'] and bromide['unseen_elements'] == ['Br']
    thiol = rows['thiol.cif']['domain']
    assert not thiol['in_domain'] and thiol['unseen_elements'] == ['S']
    assert 'jdd0:S' in thiol['unseen_fragments'] and 'jdd1:C-S' in thiol['unseen_fragments']
    # The model has no S column: without the domain the sulfur would count for nothing, silently.
    assert 'jdd0:S' not in domain_model.feature_names

    print_ranking(list(rows.values()), 0, domain_model, 300.0)
    printed = capsys.readouterr().out
    assert 'OUT: unseen element Br' in printed and 'OUT: unseen element S; unseen fragment' in printed
    assert '2 out of the training domain' in printed
