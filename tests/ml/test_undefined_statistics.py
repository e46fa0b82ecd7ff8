"""Statistics that do not exist are reported as undefined with their reason, never as absurd digits.

A fold whose test materials have (almost) the same target has an R2 denominator near zero: scikit-learn
returns -1e11 for a tiny error, and the demo printed a "mean gap" of -1.6e13. Here such a fold is planted
in a cp_u table (one row per material) and the table is trained, reported and printed.
"""

import numpy as np
import pytest
from sklearn.metrics import r2_score

from aiida_perovskite.ml import TrainingSettings, format_metrics, train, write_report
from aiida_perovskite.ml.evaluation import display_r2, r2_or_reason
from aiida_perovskite.ml.splits import MaterialFolds

from .synthetic import long_table, static_features

SETTINGS = TrainingSettings(outer_folds=3, inner_folds=2, seed=0, n_estimators=10, learning_curve_sizes=(1.0,),
                            permutation_repeats=2, grids={'ridge': {'alpha': [0.1, 10.0]}})


def test_r2_of_a_fold_is_undefined_without_spread_or_materials():
    y = np.array([1.0, 2.0, 3.0, 4.0])
    groups = np.array(['a', 'b', 'c', 'd'])
    value, reason = r2_or_reason(y, y + 0.1, groups, task_variance=float(np.var(y)))
    assert reason is None and value == pytest.approx(r2_score(y, y + 0.1))
    flat = np.array([5.0, 5.0 + 1e-7])
    value, reason = r2_or_reason(flat, flat + 1e-3, ['a', 'b'], task_variance=1.0)
    assert np.isnan(value) and 'spread 0.0%' in reason
    assert r2_score(flat, flat + 1e-3) < -1e6  # what used to be reported
    value, reason = r2_or_reason([1.0, 2.0], [1.0, 2.0], ['a', 'a'], task_variance=1.0)
    assert np.isnan(value) and reason.startswith('1 test material')
    # 1% of the task's variance is the line: just above it the R2 is a number again.
    value, reason = r2_or_reason([0.0, 0.21], [0.0, 0.21], ['a', 'b'], task_variance=1.0)
    assert reason is None and value == 1.0


def test_display_never_prints_absurd_digits():
    assert display_r2(float('nan')) == display_r2(None) == 'undefined'
    assert display_r2(-7.95e11) == display_r2(-171.0) == '< -10'
    assert display_r2(-9.5) == '-9.500' and display_r2(0.81234) == '0.812'
    assert display_r2(223.0) == '> 10'  # a gap or a spread that only a broken fold can produce


@pytest.fixture(scope='module')
def flat_fold_result():
    """12 materials in 3 outer folds; the 4 test materials of the first fold share one cp_u (to 1e-9)."""
    n = 12
    rng = np.random.default_rng(3)
    static = static_features(n, rng)
    names = np.array([f'm{index:03d}' for index in range(n)])
    _, first_test = next(MaterialFolds(SETTINGS.outer_folds, SETTINGS.seed).split(names, groups=names))
    cp_u = 2.0 + static['cell:volume_per_atom'].to_numpy() / 10 + rng.normal(0, 0.05, n)
    cp_u[first_test] = 2.0 + 1e-9 * np.arange(len(first_test))
    frame = long_table(static, cp_u, np.tile(cp_u[:, None], (1, 4)))
    return train(frame, 'cp_u', SETTINGS, families=('ols', 'ridge')), set(names[first_test])


def test_flat_fold_is_left_out_with_its_reason(flat_fold_result, tmp_path):
    result, flat_materials = flat_fold_result
    folds = result.folds
    flat = folds[folds['test_materials'].map(set) == flat_materials]
    assert len(flat) == len(result.metrics)  # one such fold per model
    assert flat['test_r2'].isna().all()
    assert flat['test_r2_undefined'].str.contains("spread 0.0% of the task's variance").all()
    for _, row in result.metrics.iterrows():
        scored = folds[(folds['model'] == row['model']) & folds['test_r2'].notna()]
        assert row['n_folds_scored'] == len(scored) == 2
        assert row['test_r2_mean'] == pytest.approx(scored['test_r2'].mean())
        assert 'fold 1 test R2 undefined' in row['undefined'] or 'test R2 undefined' in row['undefined']
        assert np.isfinite(row['gap_mean'])
    # What people read: no digit strings of absurd size, the reason beside the table.
    text = format_metrics(result.metrics)
    assert 'e+' not in text and 'test R2 undefined' in text
    for _, row in result.metrics.iterrows():
        for column in ('test_r2_mean', 'test_r2_std', 'pooled_r2', 'gap_mean'):
            shown = display_r2(row[column])
            assert shown in text
            assert shown in ('undefined', '< -10', '> 10') or abs(float(shown)) <= 10, (column, shown)
    index = write_report(result, tmp_path).read_text()
    assert "spread 0.0% of the task&#x27;s variance" in index and 'e+' not in index.split('<h2>Settings')[0]
    assert (tmp_path / 'cp_u_ols_parity.png').exists()


def test_no_defined_fold_leaves_every_mean_undefined():
    """Six materials, three folds of two whose members share their value: nothing to score at all."""
    n = 6
    rng = np.random.default_rng(4)
    static = static_features(n, rng)
    names = np.array([f'm{index:03d}' for index in range(n)])
    cp_u = np.empty(n)
    for fold, (_, test) in enumerate(MaterialFolds(3, 0).split(names, groups=names)):
        cp_u[test] = 1.0 + fold
    frame = long_table(static, cp_u, np.tile(cp_u[:, None], (1, 4)))
    result = train(frame, 'cp_u', SETTINGS, families=('ridge',))
    row = result.metrics.set_index('model').loc['ridge']
    assert np.isnan(row['test_r2_mean']) and np.isnan(row['gap_mean']) and row['n_folds_scored'] == 0
    assert 'no outer fold has a defined R2' in row['undefined']
    assert np.isfinite(row['pooled_r2'])  # across all folds the values do spread
    assert 'undefined' in format_metrics(result.metrics).splitlines()[2]
