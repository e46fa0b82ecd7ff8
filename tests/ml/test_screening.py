"""The screening pipeline (ml.screening): CIFs and a fitted model to a ranked table with per-file errors."""

import math

import pytest
from sklearn.linear_model import LinearRegression

from aiida_perovskite.builder import alkylammonium, layered_perovskite
from aiida_perovskite.ml import predict
from aiida_perovskite.ml.screening import ScreeningError, predict_cif, rank_predictions, screen_cifs

FEATURES = ['spacer:n_heavy_atoms', 'thermo:temperature']


class FittedModel:
    """A fitted estimator with its feature names: what TrainedModelData offers, without AiiDA."""

    def __init__(self, estimator, feature_names):
        self.estimator, self.feature_names = estimator, feature_names

    def predict(self, frame):
        return predict(self.estimator, frame, self.feature_names)


@pytest.fixture
def model():
    """Exactly 0.5 per heavy atom of the spacer plus 0.01 per kelvin."""
    X = [[n, t] for n in (3, 5, 8) for t in (200, 300, 500)]
    y = [0.5 * n + 0.01 * t for n, t in X]
    return FittedModel(LinearRegression().fit(X, y), FEATURES)


@pytest.fixture
def cifs(tmp_path):
    """Propyl-, butyl- and hexylammonium RP cells (4, 5 and 7 heavy atoms per spacer), a broken and a missing file."""
    paths = []
    for carbons in (3, 4, 6):
        path = tmp_path / f'c{carbons}.cif'
        layered_perovskite(alkylammonium(carbons), phase='RP').to(filename=str(path))
        paths.append(path)
    broken = tmp_path / 'broken.cif'
    broken.write_text('data_broken\n_cell_length_a 5\n')
    return paths, broken, tmp_path / 'missing.cif'


def test_ranked_largest_first_with_the_failures_named(model, cifs):
    (c3, c4, c6), broken, missing = cifs
    screening = screen_cifs([c4, broken, c3, missing, c6], model, temperature=300.0)
    assert [row['file'] for row in screening.rows] == [str(c6), str(c4), str(c3)]
    assert [row['rank'] for row in screening.rows] == [1, 2, 3]
    assert [row['prediction'] for row in screening.rows] == pytest.approx([6.5, 5.5, 5.0])  # 0.5 x (7, 5, 4) + 3
    assert all(math.isnan(row['uncertainty']) for row in screening.rows)  # no forest: no spread
    assert screening.rows[1]['smiles'] == 'CCCC[NH3+]'
    assert [failure['file'] for failure in screening.failures] == [str(broken), str(missing)]
    assert all(failure['error'].startswith('UnreadableCifError: ') for failure in screening.failures)


def test_ascending_and_temperature(model, cifs):
    (c3, c4, c6), _, _ = cifs
    screening = screen_cifs([c4, c6, c3], model, temperature=400.0, ascending=True)
    assert [row['file'] for row in screening.rows] == [str(c3), str(c4), str(c6)]
    assert [row['prediction'] for row in screening.rows] == pytest.approx([6.0, 6.5, 7.5])  # 1 higher at 400 K
    assert screening.failures == []


def test_predict_cif_and_a_custom_step(model, cifs):
    (c3, _, _), broken, _ = cifs
    assert predict_cif(c3, model, 300.0)['prediction'] == pytest.approx(5.0)
    with pytest.raises(ScreeningError, match='UnreadableCifError'):
        predict_cif(broken, model, 300.0)

    def flaky(path, model, temperature):  # the per-CIF step is pluggable (the AiiDA one stores nodes)
        if path == c3:
            raise ScreeningError('refused')
        return {'file': str(path), 'prediction': 1.0}

    screening = screen_cifs([c3, broken], model, predict_one=flaky)
    assert screening.rows == [{'file': str(broken), 'prediction': 1.0, 'rank': 1}]
    assert screening.failures == [{'file': str(c3), 'error': 'refused'}]


def test_ties_keep_their_input_order():
    rows = [{'file': name, 'prediction': value} for name, value in (('a', 1.0), ('b', 2.0), ('c', 1.0))]
    assert [row['file'] for row in rank_predictions(rows)] == ['b', 'a', 'c']
    assert [row['file'] for row in rank_predictions(rows, ascending=True)] == ['a', 'c', 'b']
