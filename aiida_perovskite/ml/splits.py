"""Folds made of whole materials: the only splitter the package uses, and it is not exported.

All temperature runs of a material are strongly correlated, so a material split across training and test
would leak. Every split made here is checked for shared materials before it is handed out.
"""

from __future__ import annotations

import inspect

import numpy as np
from sklearn.model_selection import GroupKFold

#: GroupKFold learned to shuffle groups in scikit-learn 1.6.
_GROUP_KFOLD_SHUFFLES = 'shuffle' in inspect.signature(GroupKFold).parameters


class MaterialFolds:
    """K folds of whole materials, shuffled reproducibly by ``seed`` (a scikit-learn style cross-validator)."""

    def __init__(self, n_splits: int, seed: int):
        self.n_splits = int(n_splits)
        self.seed = int(seed)

    def get_n_splits(self, X=None, y=None, groups=None) -> int:
        return self.n_splits

    def split(self, X, y=None, groups=None):
        """Yield ``(train_rows, test_rows)``; ``groups`` (the material of each row) is required."""
        if groups is None:
            raise ValueError('MaterialFolds needs the material of every row (groups)')
        groups = np.asarray(groups)
        if len(groups) != len(X):
            raise ValueError(f'{len(groups)} materials given for {len(X)} rows')
        for test in self._test_rows(groups):
            train = np.setdiff1d(np.arange(len(groups)), test)
            assert_disjoint(groups, train, test)
            yield train, test

    def _test_rows(self, groups: np.ndarray):
        if _GROUP_KFOLD_SHUFFLES:
            splitter = GroupKFold(self.n_splits, shuffle=True, random_state=self.seed)
            for _, test in splitter.split(groups, groups=groups):
                yield test
            return
        # Same recipe as GroupKFold(shuffle=True) of newer scikit-learn: permute the materials, cut in K.
        materials = np.unique(groups)
        if self.n_splits > len(materials):
            raise ValueError(f'cannot make {self.n_splits} folds from {len(materials)} materials')
        shuffled = np.random.RandomState(self.seed).permutation(materials)
        for test_materials in np.array_split(shuffled, self.n_splits):
            yield np.flatnonzero(np.isin(groups, test_materials))


def assert_disjoint(groups: np.ndarray, train: np.ndarray, test: np.ndarray) -> None:
    """Fail loudly if any material has rows on both sides of a split."""
    shared = np.intersect1d(groups[train], groups[test])
    if shared.size:
        raise AssertionError(f'materials on both sides of a split: {shared[:10].tolist()}')
