"""The dataset of a group of materials, found by QueryBuilder and recorded as a provenance node."""

from __future__ import annotations

from aiida import orm

from aiida_perovskite.analysis import TargetSettings, structure_elements, structure_identity


def finished_materials(group_label: str, include_broken: bool = False) -> list[tuple]:
    """``(material, cif)`` of every finished ``MaterialWorkChain`` in the group, oldest first.

    :param include_broken: also the materials that ran to their end with broken physics (``ERROR_BROKEN_PHYSICS``:
        octahedra broken or volume run away; their targets are kept but describe a structure that fell apart).
    """
    from aiida_perovskite.common.exit_codes import EXIT_CODES

    statuses = [0, EXIT_CODES['ERROR_BROKEN_PHYSICS'].status] if include_broken else [0]
    builder = orm.QueryBuilder()
    builder.append(orm.Group, filters={'label': group_label}, tag='group')
    builder.append(orm.WorkChainNode, with_group='group', tag='material', project='*',
                   filters={'attributes.process_label': 'MaterialWorkChain', 'attributes.exit_status': {'in': statuses}})
    builder.append(orm.CifData, with_outgoing='material', edge_filters={'label': 'cif'}, project='*')
    builder.order_by({'material': {'id': 'asc'}})
    return builder.all()


def analysis_of(material) -> tuple[orm.Dict, orm.Dict]:
    """The material's ``targets`` and ``features`` nodes.

    Materials run by this version have them as outputs. For those run before targets were part
    of the work chain, the calcfunctions run once on the ladder's summaries and the decomposition,
    and later calls find those nodes again instead of computing them anew.
    """
    from aiida_perovskite.calculations.functions.targets import compute_features, compute_targets

    outputs = material.outputs
    if 'targets' in outputs and 'features' in outputs:
        return outputs.targets, outputs.features
    summaries = dict(outputs.ladder.summaries)
    decomposition = outputs.parametrise.decomposition
    targets = _made_from('compute_targets', next(iter(summaries.values())))
    if targets is None:  # with the default thresholds, as MaterialWorkChain would have used
        targets = compute_targets(orm.Dict(TargetSettings().as_dict()), **summaries)
    features = _made_from('compute_features', decomposition) or compute_features(decomposition)
    return targets, features


def _made_from(function: str, source: orm.Node):
    """The result of an earlier run of calcfunction ``function`` that took ``source`` as input, if any."""
    builder = orm.QueryBuilder()
    builder.append(orm.Node, filters={'id': source.pk}, tag='source')
    builder.append(orm.CalcFunctionNode, with_incoming='source', tag='function',
                   filters={'attributes.process_label': function, 'attributes.exit_status': 0})
    builder.append(orm.Dict, with_incoming='function', edge_filters={'label': 'result'}, project='*')
    found = builder.first()
    return found[0] if found else None


def _parameter_set_of(topology) -> str | None:
    """The UUID of the ``ParameterSetData`` node the topology was written with (its calcfunction's input)."""
    from aiida_perovskite.data import ParameterSetData

    builder = orm.QueryBuilder()
    builder.append(orm.Node, filters={'id': topology.pk}, tag='topology')
    builder.append(orm.CalcFunctionNode, with_outgoing='topology', tag='writer')
    builder.append(ParameterSetData, with_outgoing='writer', project='uuid')
    return builder.first(flat=True)


def engine_of(material) -> str | None:
    """The MD engine of a material's ladder: the calculation plugin of its code (``lammps`` or ``openmm``)."""
    code = material.base.links.get_incoming(link_label_filter='ladder__code').first()
    if code is None:
        return None
    from aiida_perovskite.tools.codes import TOOLS

    engines = {TOOLS[tool]: tool for tool in ('lammps', 'openmm')}  # the codes `run --engine` registers
    return engines.get(code.node.default_calc_job_plugin)


def build_dataset(group_label: str, population_outlier_scale: float = 5.0, progress=None, include_broken: bool = False,
                  on_failure=None):
    """The ``DatasetData`` of a group: reused if one was made from exactly these materials, else assembled.

    :param include_broken: keep the materials flagged with broken physics (excluded by default; see
        :func:`finished_materials`).
    :param on_failure: ``on_failure(material, error)`` for a material whose targets or features cannot be
        computed: it is left out and the others go on (without it, the error is raised).
    :raises LookupError: the group does not exist or has no finished material (none left after the exclusions).
    """
    from aiida_perovskite.calculations.functions.learning import assemble_dataset
    from aiida_perovskite.data import DatasetData

    if not orm.QueryBuilder().append(orm.Group, filters={'label': group_label}).count():
        raise LookupError(f'no group {group_label!r}')
    materials = finished_materials(group_label, include_broken)
    if not materials:
        broken = len(finished_materials(group_label, include_broken=True)) if not include_broken else 0
        raise LookupError(f'group {group_label!r} has no finished material' + (
            f' left: all {broken} flagged with broken physics are excluded (`dataset --include-broken` keeps them)'
            if broken else ' yet (see `aiida-perovskite status`)'))
    if on_failure is not None:
        usable = []
        for material, cif in materials:
            try:
                analysis_of(material)
            except Exception as error:  # one material's broken record must not lose the others
                on_failure(material, error)
                continue
            usable.append((material, cif))
        materials = usable
        if not materials:
            raise LookupError(f'group {group_label!r}: no material left whose targets and features can be computed')
    key = DatasetData.materials_key(material.uuid for material, _ in materials)
    existing = orm.QueryBuilder().append(DatasetData, filters={
        'attributes.materials_key': key, 'extras.group': group_label,
        'attributes.settings.population_outlier_scale': population_outlier_scale,
    }).order_by({DatasetData: {'id': 'desc'}}).first()
    if existing:
        return existing[0]

    inputs, identifiers = {}, []
    for index, (material, cif) in enumerate(materials):
        targets, features = analysis_of(material)
        topology = material.outputs.parametrise.topology
        record = material.outputs.parametrise.decomposition.get_dict()
        spacers = record.get('spacers', [])
        inputs.update({f'cif_{index}': cif, f'targets_{index}': targets, f'features_{index}': features})
        identifiers.append({
            'material_uuid': material.uuid,
            # What the folds group by: the same CIF under two protocols is one structure, never two.
            'structure': structure_identity(record),
            'elements': ' '.join(structure_elements(record)),
            'file': material.base.extras.get('cif_file', cif.filename),
            'smiles': '.'.join(spacer['smiles'] for spacer in spacers),
            'protocol': material.base.extras.get('protocol', None),
            'charge_method': topology.base.attributes.get('charge_method', None),
            # Topologies made before charge models were selectable all used the formal charges.
            'charge_model': topology.base.attributes.get('charge_model', 'formal'),
            'parameter_set': topology.base.attributes.get('parameter_set', None),
            'parameter_set_uuid': _parameter_set_of(topology),
            # The two engines' volumes differ by ~0.5 % (docs/source/method/simulation.rst): one per dataset.
            'engine': engine_of(material),
        })
        if progress:
            progress(index + 1, len(materials))
    dataset = assemble_dataset(orm.Dict({'materials': identifiers, 'population_outlier_scale': population_outlier_scale}),
                               **inputs)
    dataset.base.extras.set('group', group_label)
    return dataset
