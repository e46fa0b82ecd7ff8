"""Stored models (skops, no pickle), predictions for new materials and the report folder."""

import re

import numpy as np
import pytest
import skops.io
from sklearn.linear_model import LinearRegression

from aiida_perovskite.ml import UntrustedModelError, dump_model, format_metrics, load_model, predict, write_report


def test_models_round_trip_through_skops(cp_u_result, linear_data):
    frame = linear_data[0]
    for family, model in cp_u_result.final_models.items():
        data = dump_model(model)
        assert isinstance(data, bytes)
        loaded = load_model(data)
        before = predict(model, frame, cp_u_result.feature_names)
        after = predict(loaded, frame, cp_u_result.feature_names)
        np.testing.assert_array_equal(before[0], after[0], err_msg=family)
        np.testing.assert_array_equal(before[1], after[1], err_msg=family)


def test_forest_spread_is_positive_and_others_are_nan(cp_u_result, linear_data):
    frame = linear_data[0]
    mean, std = predict(cp_u_result.final_models['random_forest'], frame, cp_u_result.feature_names)
    assert mean.shape == std.shape == (len(frame),)
    assert (std > 0).all()
    _, std = predict(cp_u_result.final_models['ridge'], frame, cp_u_result.feature_names)
    assert np.isnan(std).all()
    assert set(cp_u_result.cv_rmse) == set(cp_u_result.metrics['model'])


class CustomRegressor(LinearRegression):
    """Defined outside scikit-learn: must not be loaded."""


def test_models_with_untrusted_types_are_refused():
    model = CustomRegressor().fit([[0.0], [1.0]], [0.0, 1.0])
    with pytest.raises(UntrustedModelError, match='CustomRegressor'):
        load_model(skops.io.dumps(model))


def test_missing_columns_are_zero_fragments_or_an_error(v_atom_result, linear_data):
    model, names = v_atom_result.final_models['ridge'], v_atom_result.feature_names
    frame = linear_data[0].drop(columns=['thermo:temperature'], errors='ignore').assign(extra=1.0)
    reference, _ = predict(model, frame, names)
    without_fragment = frame.drop(columns='jdd1:fragment_0')
    zeroed = frame.assign(**{'jdd1:fragment_0': 0.0})
    np.testing.assert_allclose(predict(model, without_fragment, names)[0], predict(model, zeroed, names)[0])
    assert not np.allclose(predict(model, without_fragment, names)[0], reference)
    with pytest.raises(ValueError, match='lattice:stacking'):
        predict(model, frame.drop(columns='lattice:stacking'), names)
    matrix = frame[names[:-1]].assign(T=frame['temperature']).to_numpy()
    np.testing.assert_allclose(predict(model, matrix, names)[0], reference)
    with pytest.raises(ValueError, match='columns'):
        predict(model, matrix[:, :-1], names)


def test_report_references_existing_figures_and_tables(cp_u_result, stacked_result, tmp_path):
    index = write_report([cp_u_result, stacked_result], tmp_path / 'report', title='Synthetic check')
    assert index == tmp_path / 'report' / 'index.html'
    page = index.read_text(encoding='utf-8')
    images = re.findall(r'<img src="([^"]+)"', page)
    assert len(images) >= 2 * (5 + 3 + 2)  # parity per model, learning curves and importance per family
    for image in images:
        path = index.parent / image
        assert path.suffix == '.png' and path.stat().st_size > 1000, image
    assert 'cp_u_random_forest_parity.png' in images and 'v_atom_stacked_v_atom_vs_T.png' in images
    for table in ('metrics.csv', 'predictions.csv', 'folds.csv', 'learning_curves.csv', 'importance.csv'):
        assert (index.parent / table).stat().st_size > 0
        assert f'href="{table}"' in page
    assert page.count('class="best"') == 2
    assert 'baseline_cif_volume' in page and 'sklearn' in page and 'outer_folds' in page
    text = format_metrics(cp_u_result.metrics)
    assert 'baseline_mean' in text and 'random_forest' in text
