"""Calcfunction of the fingerprint stage: one structure's Hirshfeld-surface fingerprint as an ``ArrayData``."""

from __future__ import annotations

from aiida import orm
from aiida.engine import calcfunction

#: ``fingerprint`` attribute of the nodes this module makes (to find them with the QueryBuilder).
KIND = 'hirshfeld'


@calcfunction
def hirshfeld_fingerprint(structure: orm.StructureData, settings: orm.Dict) -> orm.ArrayData:
    """The fingerprint of ``structure`` (:func:`aiida_perovskite.fingerprint.hirshfeld_fingerprint`).

    :param settings: fields of :class:`aiida_perovskite.fingerprint.FingerprintSettings` (missing ones take
        their defaults).
    :returns: arrays ``image`` (channels, bins, bins) and ``outside``; attributes ``fingerprint`` (``hirshfeld``),
        ``channels``, ``settings`` (complete), ``settings_key``, ``structure_hash`` (to find the fingerprint of
        the same structure and settings again), ``summaries``, ``n_sites``, ``n_unique``, ``total_area``,
        ``seconds``, ``occpy_version``.
    """
    import occpy

    from aiida_perovskite.fingerprint import FingerprintSettings
    from aiida_perovskite.fingerprint import hirshfeld_fingerprint as compute

    options = FingerprintSettings(**settings.get_dict())
    result = compute(structure.get_pymatgen_structure(), options)
    node = orm.ArrayData()
    node.set_array('image', result.image)
    node.set_array('outside', result.outside)
    node.base.attributes.set_many({
        'fingerprint': KIND,
        'channels': list(result.channels),
        'settings': options.as_dict(),
        'settings_key': options.key(),
        'structure_hash': structure.base.caching.get_hash(),
        'summaries': {name: (None if value != value else value) for name, value in result.summaries.items()},
        'n_sites': result.n_sites,
        'n_unique': result.n_unique,
        'total_area': result.total_area,
        'seconds': result.seconds,
        'occpy_version': occpy.__version__,
    })
    return node
