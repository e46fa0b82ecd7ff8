"""``DatasetData``: the learning table of a set of materials (features, targets, flags, the way back to each CIF)."""

from __future__ import annotations

import io

from aiida import orm


class DatasetData(orm.SinglefileData):
    """One row per material and temperature, as CSV, with what the table holds as attributes.

    Attributes (for QueryBuilder): ``columns``, ``n_rows``, ``n_materials``, ``materials``
    (UUIDs of the ``MaterialWorkChain`` nodes), ``feature_families``, ``flags`` (counts of each
    quality flag). :meth:`frame` gives the table back as a pandas DataFrame.
    """

    FILENAME = 'dataset.csv'

    @staticmethod
    def materials_key(uuids) -> str:
        """A short key of a set of materials (their sorted UUIDs), to find the dataset of exactly that set."""
        import hashlib

        return hashlib.sha1('\n'.join(sorted(uuids)).encode()).hexdigest()

    @classmethod
    def from_frame(cls, frame, **attributes) -> DatasetData:
        text = frame.to_csv(index=False)
        node = cls(file=io.BytesIO(text.encode()), filename=cls.FILENAME)
        features = [column for column in frame.columns if ':' in column]
        node.base.attributes.set_many({
            'columns': list(frame.columns),
            'n_rows': len(frame),
            'n_materials': int(frame['material'].nunique()) if len(frame) else 0,
            'feature_families': sorted({column.split(':', 1)[0] for column in features}),
            **attributes,
        })
        return node

    def frame(self):
        """The table as a pandas DataFrame (``material`` and id columns as strings)."""
        import pandas as pd

        with self.open(mode='r') as handle:
            return pd.read_csv(handle, dtype={'material': str, 'material_uuid': str, 'cif_uuid': str})
