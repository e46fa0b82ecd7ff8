"""``ParameterSetData``: a literature parameter set, stored once and linked from every topology."""

from __future__ import annotations

from aiida import orm

from aiida_perovskite.forcefield import ParameterSet, load_parameter_set


class ParameterSetData(orm.Dict):
    """The values, units, citations and version of one ion/cross-term parameter set.

    The content is the set's :meth:`ParameterSet.as_dict`, so ``citations``,
    ``name`` and ``version`` are attributes that QueryBuilder can filter on.
    """

    @classmethod
    def get_or_create(cls, name: str) -> ParameterSetData:
        """The stored node of the shipped set ``name`` at its current version, creating it once."""
        parameter_set = load_parameter_set(name)
        content = parameter_set.as_dict()
        builder = orm.QueryBuilder().append(
            cls, filters={'attributes.name': parameter_set.name, 'attributes.version': parameter_set.version}
        )
        for (node,) in builder.iterall():
            if node.get_dict() == content:
                return node
        node = cls(content)
        node.label = f'{parameter_set.name} v{parameter_set.version}'
        node.description = parameter_set.description
        return node.store()

    @property
    def parameter_set(self) -> ParameterSet:
        return ParameterSet.from_dict(self.get_dict())
