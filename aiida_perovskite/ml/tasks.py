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

#: The column the folds group by when the table has it: the structure identity (see
#: :func:`aiida_perovskite.analysis.structure_identity`), so runs of one CIF under several protocols stay on
#: one side of every split. Without it, ``material`` is taken as the identity.
GROUP_COLUMN = 'structure'

#: How the targets were simulated. A table whose rows differ in one of these learns a mixture of force
#: fields; it is refused unless that column is named in ``allow_mixed``. Each name also covers the columns
#: listed with it (a parameter set's name and its node).
FORCE_FIELD_COLUMNS = {
    'protocol': ('protocol',),
    'charge_method': ('charge_method',),
    'charge_model': ('charge_model',),
    'parameter_set': ('parameter_set', 'parameter_set_uuid'),
    'engine': ('engine',),
}

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
    #: The structure of each row (``structure`` column, else ``material``): every split is made on these.
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


def build_task(frame: pd.DataFrame, task: str, allow_mixed: tuple[str, ...] = ()) -> TaskData:
    """Validate ``frame``, drop excluded materials and assemble the matrices of ``task``.

    :param allow_mixed: the :data:`FORCE_FIELD_COLUMNS` whose values may differ between rows (asked for
        by name); any other mixture is refused.
    """
    if task not in TASKS:
        raise ValueError(f'unknown task {task!r}; known: {TASKS}')
    target, flag = TARGET_OF_TASK[task], FLAG_OF_TASK[task]
    features = validate_frame(frame, required=('temperature', target, flag))
    check_one_force_field(frame, allow_mixed)

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
        groups=structure_groups(rows),
        feature_names=feature_names,
        static_features=list(features),
        ids=ids.reset_index(drop=True),
        excluded=excluded,
    )


def structure_groups(rows: pd.DataFrame) -> np.ndarray:
    """The group of each row: its structure identity, or its material where the table has no identities."""
    if GROUP_COLUMN in rows and rows[GROUP_COLUMN].notna().all():
        return rows[GROUP_COLUMN].astype(str).to_numpy(dtype=object)
    return rows['material'].astype(str).to_numpy(dtype=object)


def check_one_force_field(frame: pd.DataFrame, allow_mixed=()) -> None:
    """Refuse a table whose rows were simulated with different protocols, charge models or parameter sets.

    :raises ValueError: naming the column, its values and how to ask for the mixture.
    """
    unknown = sorted(set(allow_mixed) - set(FORCE_FIELD_COLUMNS))
    if unknown:
        raise ValueError(f'allow_mixed names unknown columns {unknown}; known: {sorted(FORCE_FIELD_COLUMNS)}')
    for name, columns in FORCE_FIELD_COLUMNS.items():
        if name in allow_mixed:
            continue
        for column in columns:
            if column not in frame:
                continue
            values = sorted({str(value) for value in frame[column].dropna()})
            if len(values) > 1:
                raise ValueError(
                    f'the dataset mixes {len(values)} values of {column} ({", ".join(values[:4])}): its targets come '
                    f'from different force fields or protocols; train on one, or name {name!r} in allow_mixed '
                    f'(train --allow-mixed {name}) to learn across them'
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
