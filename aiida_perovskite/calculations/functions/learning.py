"""Calcfunctions of the learning stage: the dataset of a set of materials, trained models, predictions."""

from __future__ import annotations

from aiida import orm
from aiida.engine import calcfunction

from aiida_perovskite.data import DatasetData, TrainedModelData

#: Columns of the dataset that say where a row comes from (never features).
ID_COLUMNS = ('material', 'material_uuid', 'structure', 'elements', 'cif_uuid', 'targets_uuid', 'features_uuid',
              'file', 'smiles', 'protocol', 'charge_method', 'charge_model', 'parameter_set', 'parameter_set_uuid',
              'engine')


@calcfunction
def assemble_dataset(settings: orm.Dict, **nodes) -> DatasetData:
    """One table row per material and temperature from each material's targets and features.

    :param settings: ``materials``: per material, in the order of the inputs ``cif_<i>``,
        ``targets_<i>``, ``features_<i>``, the identifiers to carry (``material_uuid``, ``structure``
        (the structure identity the folds group by), ``elements``, ``file``,
        ``smiles``, ``protocol``, ``charge_method``, ``charge_model``, ``parameter_set``,
        ``parameter_set_uuid``, ``engine``); ``population_outlier_scale``:
        the MAD multiple beyond which a material's mean potential energy per atom is a population
        outlier (the method's Figure 8).
    :returns: the table; ``flag_pe_outlier`` is a potential-energy outlier of either kind
        (off its own linear trend, or far from the population), ``flag_unstable`` the method's
        volume-fluctuation flag. Flagged rows are kept: the training decides what to drop.
    """
    import numpy as np
    import pandas as pd

    from aiida_perovskite.analysis import population_outliers

    s = settings.get_dict()
    records = []
    for index, material in enumerate(s['materials']):
        targets = nodes[f'targets_{index}'].get_dict()
        features = nodes[f'features_{index}'].get_dict()
        common = {
            'material': material['material_uuid'],
            **{key: material.get(key) for key in ID_COLUMNS[1:] if key in material},
            'cif_uuid': nodes[f'cif_{index}'].uuid,
            'targets_uuid': nodes[f'targets_{index}'].uuid,
            'features_uuid': nodes[f'features_{index}'].uuid,
            'cp_u': targets['cp_u'],
            'cp_u_stderr': targets['cp_u_stderr'],
            'mean_pe_per_atom': float(np.mean(targets['pe_per_atom'])),
            'mean_volume_std': targets['mean_volume_std'],
            'flag_unstable': bool(targets['flags']['unstable']),
            'flag_pe_off_trend': bool(targets['flags']['pe_off_trend']),
            # Recorded, not used to drop rows: targets computed before the flag existed have none (False).
            'flag_pe_drift': bool(targets['flags'].get('pe_drift', False)),
        }
        for temperature, v_atom, v_std, pe in zip(targets['temperatures'], targets['v_atom'], targets['v_atom_std'],
                                                  targets['pe_per_atom']):
            records.append({**common, 'temperature': temperature, 'v_atom': v_atom, 'v_atom_std': v_std,
                            'pe_per_atom': pe, **features})
    frame = pd.DataFrame.from_records(records)
    if frame.empty:
        return DatasetData.from_frame(frame, flags={})
    fragment_columns = [column for column in frame.columns if column.startswith('jdd')]
    frame[fragment_columns] = frame[fragment_columns].fillna(0.0)  # a fragment a spacer lacks occurs 0 times
    means = frame.groupby('material')['mean_pe_per_atom'].first().to_dict()
    outliers = population_outliers(means, float(s.get('population_outlier_scale', 5.0)))
    frame['flag_pe_population'] = frame['material'].isin(outliers)
    frame['flag_pe_outlier'] = frame['flag_pe_off_trend'] | frame['flag_pe_population']
    # Identifiers and targets first, features after, in a stable order.
    features = sorted(column for column in frame.columns if ':' in column)
    frame = frame[[column for column in frame.columns if ':' not in column] + features]
    per_material = frame.groupby('material').first()
    flags = {name: int(per_material[name].sum()) for name in
             ('flag_unstable', 'flag_pe_off_trend', 'flag_pe_population', 'flag_pe_outlier', 'flag_pe_drift')}
    return DatasetData.from_frame(frame, flags=flags, materials=sorted(per_material.index),
                                  materials_key=DatasetData.materials_key(per_material.index),
                                  settings={'population_outlier_scale': s.get('population_outlier_scale', 5.0)})


@calcfunction
def train_models(dataset: DatasetData, settings: orm.Dict):
    """Nested grouped cross-validation of every model family on one target, the final models and a report.

    :param settings: ``target`` (``cp_u``, or ``v_atom`` which also evaluates the stacked model),
        ``training`` (:class:`aiida_perovskite.ml.TrainingSettings` as a dict) and optional ``families``.
    :returns: ``model_<family>`` (:class:`TrainedModelData` per family), ``metrics`` (the tables of
        every task, baselines included) and ``report`` (CSV tables, PNG plots and ``index.html``).
    """
    import tempfile

    from aiida_perovskite.ml import TrainingSettings, train, write_report

    s = settings.get_dict()
    training = TrainingSettings.from_dict(s.get('training', {}))
    tasks = {'cp_u': ['cp_u'], 'v_atom': ['v_atom', 'v_atom_stacked']}[s['target']]
    frame = dataset.frame()
    results = [train(frame, task, training, families=s.get('families')) for task in tasks]
    # NaN (e.g. the R2 of a one-material test fold) becomes None: the database stores JSON.
    outputs = {'metrics': orm.Dict(json_ready({result.task: result.metrics.to_dict(orient='records') for result in results}))}
    with tempfile.TemporaryDirectory() as folder:
        write_report(results, folder, title=f'{s["target"]}: {dataset.base.attributes.get("n_materials")} materials')
        report = orm.FolderData()
        report.base.repository.put_object_from_tree(folder)
    outputs['report'] = report
    main = results[0]
    units = main.units
    force_field = _force_field_of(frame)
    domain = _training_domain(frame, main)
    for family, estimator in main.final_models.items():
        row = main.metrics[main.metrics['model'] == family].iloc[0].to_dict()
        outputs[f'model_{family}'] = TrainedModelData.from_estimator(
            estimator,
            task=main.task, family=family, feature_names=list(main.feature_names),
            hyperparameters=json_ready(main.final_params.get(family, {})),
            metrics=json_ready(row), rmse=main.cv_rmse[family], units=units, n_materials=int(row['n_materials']),
            excluded=json_ready(main.excluded), settings=training.as_dict(),
            library_versions={**json_ready(main.library_versions), **own_versions()},
            force_field=force_field, domain=domain,
        )
    return outputs


def _training_domain(frame, result) -> dict:
    """The applicability domain of the materials the models learned from (the excluded ones left out)."""
    from aiida_perovskite.ml.domain import training_domain

    excluded = {material for reason, materials in result.excluded.items() for material in materials
                if reason != 'missing_target_rows'}  # those keep their other rows
    kept = frame[~frame['material'].astype(str).isin(excluded)] if excluded else frame
    return json_ready(training_domain(kept, list(result.feature_names)))


def _force_field_of(frame) -> dict:
    """The charge models and parameter sets the dataset's rows were simulated with (queryable on each model)."""
    def values(column):
        return sorted({str(value) for value in frame[column].dropna()}) if column in frame else []

    return {'charge_models': values('charge_model'), 'parameter_sets': values('parameter_set'),
            'charge_methods': values('charge_method')}


@calcfunction
def predict_properties(model: TrainedModelData, features: orm.Dict, settings: orm.Dict) -> orm.Dict:
    """The model's prediction (and uncertainty) for one structure's features.

    :param settings: ``temperature`` (K) for models that take the temperature as a feature; ``elements``
        of the cell, for the applicability domain.
    """
    import pandas as pd

    row = dict(features.get_dict())
    options = settings.get_dict()
    row['thermo:temperature'] = float(options.get('temperature', 300.0))
    mean, spread = model.predict(pd.DataFrame([row]))
    # The applicability domain: flagged, never silent (None for models trained before it was recorded).
    domain = model.applicability(features.get_dict(), options.get('elements'))
    return orm.Dict({'task': model.task, 'family': model.family, 'prediction': float(mean[0]),
                     'uncertainty': float(spread[0]), 'units': model.base.attributes.get('units'),
                     'temperature': row['thermo:temperature'], 'domain': json_ready(domain),
                     'in_domain': None if domain is None else bool(domain['in_domain'])})


def own_versions() -> dict:
    import aiida

    import aiida_perovskite

    return {'aiida_core': aiida.__version__, 'aiida_perovskite': aiida_perovskite.__version__}


def json_ready(value):
    """JSON-ready copy (numpy scalars and arrays to Python types; NaN kept as None)."""
    import math

    import numpy as np

    if isinstance(value, dict):
        return {str(key): json_ready(item) for key, item in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [json_ready(item) for item in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value
