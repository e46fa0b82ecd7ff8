"""Flagged materials are left out and listed; settings default to the method's grids and survive JSON."""

import ast
import json
import pathlib

import numpy as np
import pytest
from sklearn.model_selection import ParameterGrid

import aiida_perovskite.ml
from aiida_perovskite.ml import BASELINES, MODEL_FAMILIES, TASKS, TrainingSettings, train
from aiida_perovskite.ml.models import family_spec


def test_flagged_materials_are_excluded_and_listed(linear_data, fast_settings):
    frame = linear_data[0].copy()
    frame.loc[frame['material'].isin(['m001', 'm007']), 'flag_pe_outlier'] = True
    frame.loc[frame['material'].isin(['m002', 'm003', 'm004']), 'flag_unstable'] = True
    frame.loc[(frame['material'] == 'm005') & (frame['temperature'] == 300.0), 'v_atom'] = np.nan

    cp_u = train(frame, 'cp_u', fast_settings, families=['ridge'])
    assert cp_u.excluded == {'flag_pe_outlier': ['m001', 'm007']}
    assert cp_u.metrics['n_materials'].unique().tolist() == [58]
    assert not set(cp_u.predictions['material']) & {'m001', 'm007'}

    v_atom = train(frame, 'v_atom', fast_settings, families=['ridge'])
    assert v_atom.excluded == {'flag_unstable': ['m002', 'm003', 'm004'], 'missing_target_rows': ['m005']}
    assert v_atom.metrics['n_materials'].unique().tolist() == [57]
    assert v_atom.metrics['n_rows'].unique().tolist() == [57 * 4 - 1]
    assert not set(v_atom.predictions['material']) & {'m002', 'm003', 'm004'}


def test_default_grids_are_the_methods():
    grids = TrainingSettings().grids
    assert grids['ols'] == {}
    lasso = np.array(grids['lasso']['alpha'])
    assert len(lasso) == 40 and lasso[0] == pytest.approx(1e-10) and lasso[-1] == pytest.approx(10.0)
    assert np.allclose(np.diff(np.log10(lasso)), 11 / 39)
    ridge = np.array(grids['ridge']['alpha'])
    assert len(ridge) == 40 and ridge[0] == pytest.approx(0.1) and ridge[-1] == pytest.approx(200.0)
    assert np.allclose(np.diff(ridge), (200 - 0.1) / 39)
    forest = grids['random_forest']
    assert forest == {'max_depth': [4, 6, 8], 'min_samples_leaf': [2, 3, 5], 'max_features': [0.3, 0.5, 0.8]}
    settings = TrainingSettings()
    sizes = {family: len(ParameterGrid(family_spec(family, settings).grid)) for family in MODEL_FAMILIES}
    assert sizes == {'ols': 1, 'lasso': 40, 'ridge': 40, 'random_forest': 27}
    assert (settings.outer_folds, settings.inner_folds, settings.n_jobs) == (5, 4, 1)
    assert TASKS == ('cp_u', 'v_atom', 'v_atom_stacked')
    assert BASELINES == ('baseline_mean', 'baseline_cif_volume')


def test_settings_round_trip_through_json(fast_settings):
    data = json.loads(json.dumps(fast_settings.as_dict()))
    assert TrainingSettings.from_dict(data) == fast_settings
    partial = TrainingSettings(grids={'ridge': {'alpha': np.array([1.0, 2.0])}})
    assert partial.grids['ridge'] == {'alpha': [1.0, 2.0]}
    assert len(partial.grids['lasso']['alpha']) == 40  # families left out keep the method's grid
    with pytest.raises(ValueError, match='unknown model families'):
        TrainingSettings(grids={'svm': {}})
    with pytest.raises(ValueError, match='inner_folds'):
        TrainingSettings(inner_folds=1)


def test_the_package_does_not_import_aiida():
    """Relative imports within the package, third-party libraries other than AiiDA, and of the project only the
    plain-Python structure and analysis packages (screening decomposes and describes the CIFs it ranks)."""
    package = pathlib.Path(aiida_perovskite.ml.__file__).parent
    allowed = {'aiida_perovskite.structure', 'aiida_perovskite.analysis'}
    for module in package.glob('*.py'):
        for node in ast.walk(ast.parse(module.read_text())):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [] if node.level else [node.module]
            else:
                continue
            for name in names:
                assert name.split('.')[0] != 'aiida', f'{module.name} imports {name}'
                if name.split('.')[0] == 'aiida_perovskite':
                    assert '.'.join(name.split('.')[:2]) in allowed, f'{module.name} imports {name}'


def test_training_reports_progress_per_model(linear_data, fast_settings, caplog):
    import logging

    with caplog.at_level(logging.INFO, logger='aiida_perovskite.ml.training'):
        train(linear_data[0], 'cp_u', fast_settings, families=['ridge'])
    lines = [record.getMessage() for record in caplog.records if record.name == 'aiida_perovskite.ml.training']
    assert lines[0] == 'cp_u: baseline_mean (1/2) on 60 materials...'
    assert lines[2] == 'cp_u: ridge (2/2) on 60 materials...'
    assert lines[3].startswith('cp_u: ridge done in ') and 'outer test R2 0.' in lines[3]
