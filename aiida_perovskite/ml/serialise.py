"""Fitted estimators to bytes and back with skops: never pickle, and load only scikit-learn's own types."""

from __future__ import annotations

import skops.io

#: Module prefixes whose types a stored model may contain.
TRUSTED_MODULE_PREFIXES = ('sklearn.', 'numpy.', 'scipy.', 'builtins.')


class UntrustedModelError(ValueError):
    """The stored model contains types from modules that are not trusted."""


def dump_model(estimator) -> bytes:
    """The skops serialisation of a fitted estimator."""
    return skops.io.dumps(estimator)


def load_model(data: bytes):
    """An estimator from :func:`dump_model` bytes, refusing any type outside scikit-learn, NumPy, SciPy and
    builtins."""
    untrusted = skops.io.get_untrusted_types(data=data)
    refused = [name for name in untrusted if not name.startswith(TRUSTED_MODULE_PREFIXES)]
    if refused:
        raise UntrustedModelError(f'refusing to load a model with types from untrusted modules: {refused}')
    return skops.io.loads(data, trusted=untrusted)
