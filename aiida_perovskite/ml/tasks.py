"""From the long data table (one row per material and temperature) to the matrices of one task."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

TASKS = ('cp_u', 'v_atom', 'v_atom_stacked')

#: Target column and the per-material flag that removes a material, per task.
TARGET_OF_TASK = {'cp_u': 'cp_u', 'v_atom': 'v_atom', 'v_atom_stacked': 'v_atom'}
FLAG_OF_TASK = {'cp_u': 'flag_pe_outlier', 'v_atom': 'flag_unstable', 'v_atom_stacked': 'flag_unstable'}
UNITS_OF_TARGET = {'cp_u': 'kcal/mol/K per atom', 'v_atom': 'Å³/atom'}

TEMPERATURE_FEATURE = 'thermo:temperature'
STACK_FEATURE = 'stack:per_material_prediction'
VOLUME_FEATURE = 'cell:volume_per_atom'
#: Families of derived columns that must not already be in the input table.
RESERVED_FAMILIES = ('thermo', 'stack')
#: Families that count fragments: a fragment absent from a material simply counts 0.
ZERO_FILLED_FAMILY_PREFIX = 'jdd'

#: Columns with a meaning of their own; every other column without ':' is an id carried to the predictions.
KNOWN_COLUMNS = ('material', 'temperature', 'cp_u', 'cp_u_stderr', 'v_atom', 'flag_pe_outlier', 'flag_unstable')

EXCLUSION_REASONS = {
    'flag_pe_outlier': 'potential-energy outlier (flag_pe_outlier)',
    'flag_unstable': 'unstable simulation (flag_unstable)',
    'missing_target': 'no value of the target at any temperature',
    'missing_target_rows': 'target missing at some temperatures (only those rows dropped)',
}


def is_feature(column) -> bool:
    """A column is a feature if and only if its name contains ':'."""
    return ':' in str(column)


def family_of(feature: str) -> str:
    """The family of a feature: its name up to the first ':'."""
    return str(feature).split(':', 1)[0]


@dataclasses.dataclass
class TaskData:
    """The rows of one task after validation and exclusions, sorted by material and temperature."""

    task: str
    target: str
    X: np.ndarray
    y: np.ndarray
    #: The material of each row: every split is made on these.
    groups: np.ndarray
    feature_names: list[str]
    #: CIF features only (no temperature): the inputs of the per-material model of the stacked task.
    static_features: list[str]
    #: material, temperature and the carried id columns, aligned with the rows of ``X``.
    ids: pd.DataFrame
    excluded: dict[str, list[str]]

    @property
    def n_materials(self) -> int:
        return int(np.unique(self.groups).size)

    @property
    def n_rows(self) -> int:
        return len(self.y)

    def column_indices(self, names: list[str]) -> list[int]:
        return [self.feature_names.index(name) for name in names]


def build_task(frame: pd.DataFrame, task: str) -> TaskData:
    """Validate ``frame``, drop excluded materials and assemble the matrices of ``task``."""
    if task not in TASKS:
        raise ValueError(f'unknown task {task!r}; known: {TASKS}')
    target, flag = TARGET_OF_TASK[task], FLAG_OF_TASK[task]
    features = validate_frame(frame, required=('temperature', target, flag))

    frame = frame.assign(material=frame['material'].astype(str))
    frame = frame.sort_values(['material', 'temperature'], kind='stable').reset_index(drop=True)
    excluded: dict[str, list[str]] = {}

    flagged = frame.groupby('material')[flag].agg(lambda values: bool(np.any(values.astype(bool))))
    if flagged.any():
        excluded[flag] = sorted(flagged.index[flagged])
        frame = frame[~frame['material'].isin(excluded[flag])]

    missing = frame[target].isna()
    if missing.any():
        all_missing = missing.groupby(frame['material']).all()
        some_missing = sorted(set(frame.loc[missing, 'material']) - set(all_missing.index[all_missing]))
        if all_missing.any():
            excluded['missing_target'] = sorted(all_missing.index[all_missing])
        if some_missing and task != 'cp_u':
            excluded['missing_target_rows'] = some_missing
        frame = frame[~missing]
        if task == 'cp_u':
            # cp_u is one value per material: a material with a gap in it is inconsistent, not partly usable.
            frame = frame[~frame['material'].isin(some_missing)]
            if some_missing:
                excluded['missing_target'] = sorted(set(excluded.get('missing_target', [])) | set(some_missing))
    frame = frame.reset_index(drop=True)
    if frame.empty:
        raise ValueError(f'no rows left for task {task} after exclusions: {excluded}')

    carried = [column for column in frame.columns if not is_feature(column) and column not in KNOWN_COLUMNS]
    if task == 'cp_u':
        _require_constant_within_material(frame, [target])
        rows = frame.groupby('material', sort=False).head(1).reset_index(drop=True)
        ids = rows[['material', *carried]].copy()
        ids.insert(1, 'temperature', np.nan)  # one value per material: no temperature of its own
        if 'cp_u_stderr' in rows:
            ids['true_stderr'] = rows['cp_u_stderr'].to_numpy()
        feature_names = list(features)
        X = rows[feature_names].to_numpy(dtype=float)
        y = rows[target].to_numpy(dtype=float)
    else:
        rows = frame
        ids = rows[['material', 'temperature', *carried]].copy()
        feature_names = [*features, TEMPERATURE_FEATURE]
        X = np.column_stack([rows[features].to_numpy(dtype=float), rows['temperature'].to_numpy(dtype=float)])
        y = rows[target].to_numpy(dtype=float)
    return TaskData(
        task=task,
        target=target,
        X=X,
        y=y,
        groups=rows['material'].to_numpy(dtype=object),
        feature_names=feature_names,
        static_features=list(features),
        ids=ids.reset_index(drop=True),
        excluded=excluded,
    )


def validate_frame(frame: pd.DataFrame, required: tuple[str, ...] = ('temperature',)) -> list[str]:
    """Check the long table and return its feature columns; every problem is a ValueError naming columns."""
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f'expected a pandas DataFrame, got {type(frame).__name__}')
    if 'material' not in frame.columns:
        raise ValueError("the table has no 'material' column: every split is made by material, so it is required")
    missing = [column for column in required if column not in frame.columns]
    if missing:
        raise ValueError(f'the table lacks the columns {missing}')
    if frame['material'].isna().any():
        raise ValueError(f'{int(frame["material"].isna().sum())} rows have no material')
    if frame['temperature'].isna().any():
        raise ValueError(f'{int(frame["temperature"].isna().sum())} rows have no temperature')
    duplicated = frame.duplicated(['material', 'temperature'])
    if duplicated.any():
        pairs = frame.loc[duplicated, ['material', 'temperature']].head(5).to_records(index=False).tolist()
        raise ValueError(f'repeated (material, temperature) rows, e.g. {pairs}')

    features = [str(column) for column in frame.columns if is_feature(column)]
    if not features:
        raise ValueError("the table has no feature columns (a feature's name contains ':')")
    reserved = [name for name in features if family_of(name) in RESERVED_FAMILIES]
    if reserved:
        raise ValueError(f'feature families {RESERVED_FAMILIES} are derived here and must not be inputs: {reserved}')
    not_numeric = [name for name in features if not pd.api.types.is_numeric_dtype(frame[name])]
    if not_numeric:
        raise ValueError(f'feature columns that are not numeric: {not_numeric}')
    with_nan = [name for name in features if not np.isfinite(frame[name].to_numpy(dtype=float)).all()]
    if with_nan:
        raise ValueError(f'feature columns with NaN or infinite values: {with_nan}')
    _require_constant_within_material(frame, features)
    return features


def _require_constant_within_material(frame: pd.DataFrame, columns: list[str]) -> None:
    """Static (per-material) columns must have one value per material."""
    varying = frame.groupby('material')[columns].nunique(dropna=False).max()
    varying = varying.index[varying > 1].tolist()
    if varying:
        raise ValueError(f'columns that should be constant within a material but vary: {varying}')
