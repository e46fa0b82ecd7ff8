"""Splits are by material, always: what a row-wise split would report, and that the API cannot do it."""

import inspect

import numpy as np
import pytest
from sklearn.ensemble import RandomForestRegressor
from sklearn.metrics import r2_score
from sklearn.model_selection import KFold, cross_val_predict

from aiida_perovskite.ml import TrainingSettings, train
from aiida_perovskite.ml.stacking import stack_feature

from .synthetic import memorisation_frame


@pytest.fixture(scope='module')
def memorisation():
    return memorisation_frame(n_materials=40, seed=3)


@pytest.fixture(scope='module')
def memorisation_result(memorisation, fast_settings):
    return train(memorisation, 'v_atom', fast_settings, families=['random_forest'])


def test_grouped_evaluation_does_not_reward_memorising_materials(memorisation, memorisation_result):
    """Features identify a material but carry no information: grouped R2 stays near zero, while a row-wise
    KFold (done by hand here; the API cannot) sees the material's other temperatures and scores high."""
    grouped = memorisation_result.metrics.set_index('model').loc['random_forest', 'test_r2_mean']
    assert grouped <= 0.2

    features = [column for column in memorisation.columns if ':' in column]
    X = np.column_stack([memorisation[features].to_numpy(), memorisation['temperature'].to_numpy()])
    y = memorisation['v_atom'].to_numpy()
    params = memorisation_result.folds.query("model == 'random_forest'")['best_params'].iloc[0]
    forest = RandomForestRegressor(n_estimators=25, random_state=0, n_jobs=1, **params)
    row_wise = r2_score(y, cross_val_predict(forest, X, y, cv=KFold(5, shuffle=True, random_state=0)))
    assert row_wise > 0.6
    assert row_wise - grouped > 0.5


@pytest.mark.parametrize('fixture', ['memorisation_result', 'v_atom_result', 'cp_u_result', 'stacked_result'])
def test_every_fold_keeps_training_and_test_materials_apart(fixture, request):
    result = request.getfixturevalue(fixture)
    all_materials = set(result.predictions['material'])
    for fold in result.folds.itertuples():
        assert set(fold.train_materials).isdisjoint(fold.test_materials)
        assert set(fold.train_materials) | set(fold.test_materials) == all_materials
    # Every material is tested exactly once per model, with all of its rows in the same fold.
    per_material = result.predictions.groupby(['model', 'material'])['fold'].nunique()
    assert (per_material == 1).all()


def test_stacked_feature_of_training_materials_is_out_of_fold(memorisation):
    """A forest that memorises would reproduce the training targets; the stacked feature must not."""
    X = memorisation[[column for column in memorisation.columns if ':' in column]].to_numpy()
    y = memorisation['v_atom'].to_numpy()
    groups = memorisation['material'].to_numpy(dtype=object)
    test = np.flatnonzero(np.isin(groups, np.unique(groups)[:8]))
    train_rows = np.setdiff1d(np.arange(len(y)), test)
    forest = RandomForestRegressor(n_estimators=25, min_samples_leaf=1, random_state=0, n_jobs=1)
    train_feature, test_feature, _ = stack_feature(forest, {}, X, y, groups, train_rows, test, inner_folds=4, seed=0)
    in_sample = forest.fit(X[train_rows], y[train_rows]).predict(X[train_rows])
    assert np.corrcoef(in_sample, y[train_rows])[0, 1] > 0.9
    assert np.corrcoef(train_feature, y[train_rows])[0, 1] < 0.5
    # Constant within a material on both sides.
    for rows, feature in ((train_rows, train_feature), (test, test_feature)):
        for material in np.unique(groups[rows]):
            assert np.ptp(feature[groups[rows] == material]) == 0


def test_no_argument_accepts_a_splitter_or_rows(linear_data, fast_settings):
    parameters = set(inspect.signature(train).parameters)
    assert parameters == {'frame', 'task', 'settings', 'families'}
    with pytest.raises(TypeError):
        train(linear_data[0], 'cp_u', fast_settings, cv=KFold(5))
    with pytest.raises(TypeError):
        TrainingSettings(cv=KFold(5))
    with pytest.raises(ValueError, match='unknown training settings'):
        TrainingSettings.from_dict({'groups': None})


def test_a_table_without_materials_is_refused(linear_data, fast_settings):
    with pytest.raises(ValueError, match="'material' column"):
        train(linear_data[0].drop(columns='material'), 'cp_u', fast_settings)


def test_invalid_tables_are_refused_with_the_columns_named(linear_data, fast_settings):
    frame = linear_data[0].copy()
    frame.loc[3, 'lattice:stacking'] = np.nan
    with pytest.raises(ValueError, match=r'NaN.*lattice:stacking'):
        train(frame, 'cp_u', fast_settings)
    frame = linear_data[0].copy()
    frame.loc[0, 'cell:n_atoms'] += 1  # no longer constant within material m000
    with pytest.raises(ValueError, match=r'vary.*cell:n_atoms'):
        train(frame, 'cp_u', fast_settings)
    with pytest.raises(ValueError, match='repeated'):
        train(linear_data[0].iloc[[0, 0, *range(1, 240)]], 'v_atom', fast_settings)
    with pytest.raises(ValueError, match='unknown task'):
        train(linear_data[0], 'band_gap', fast_settings)
    with pytest.raises(ValueError, match='unknown or no model families'):
        train(linear_data[0], 'cp_u', fast_settings, families=['svm'])
    with pytest.raises(ValueError, match='too few'):
        train(linear_data[0][linear_data[0]['material'].isin(['m000', 'm001', 'm002'])], 'cp_u', fast_settings)
