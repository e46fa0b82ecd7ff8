"""What a group holds, read from the provenance graph alone: materials, their targets, models and predictions.

Nothing here needs a code, a computer or a running process, so it works the same on the profile
that ran the materials and on one that imported them from an archive (``verdi archive import``).
Each function returns plain dictionaries (see :mod:`aiida_perovskite.analysis.report` to render them).
"""

from __future__ import annotations

from aiida import orm

MATERIAL = 'MaterialWorkChain'


def load_group(group_label: str) -> orm.Group:
    """The group labelled ``group_label``.

    :raises LookupError: there is no such group.
    """
    group = orm.QueryBuilder().append(orm.Group, filters={'label': group_label}).first(flat=True)
    if group is None:
        raise LookupError(f'no group {group_label!r}')
    return group


def group_materials(group: orm.Group) -> list:
    """The group's ``MaterialWorkChain`` nodes, oldest first (by creation time, which an archive keeps; PKs change)."""
    builder = orm.QueryBuilder().append(orm.Group, filters={'id': group.pk}, tag='group')
    builder.append(orm.WorkChainNode, with_group='group', filters={'attributes.process_label': MATERIAL}, project='*')
    builder.order_by({orm.WorkChainNode: [{'ctime': 'asc'}, {'id': 'asc'}]})
    return builder.all(flat=True)


def material_state(node) -> str:
    """``finished``, ``broken physics`` (ran to its end, structure broke: flagged, outputs kept),
    ``failed [status]`` or the process state (``running``, ``waiting``, ``created``...)."""
    from aiida_perovskite.tools.materials import is_broken_physics

    if node.is_finished_ok:
        return 'finished'
    if is_broken_physics(node):
        return 'broken physics'
    if node.is_finished:
        return f'failed [{node.exit_status}]'
    if node.is_terminated:  # excepted or killed
        return node.process_state.value
    return node.process_state.value if node.process_state else 'created'


def ladder_of(node):
    """The material's ``TemperatureLadderWorkChain``, once it has been launched (else None)."""
    return next((child for child in node.called if (child.process_type or '').endswith('perovskite.ladder')), None)


def temperature_progress(node) -> tuple[int, int]:
    """``(done, total)`` temperatures of one material (the ladder's ``temperatures_done`` extra while it runs)."""
    try:
        total = len(node.inputs.ladder.parameters['temperatures'])
    except Exception:  # not a material built by this plugin's protocol
        total = 0
    if node.is_finished_ok:
        return total, total
    ladder = ladder_of(node)
    done = ladder.base.extras.get('temperatures_done', 0) if ladder is not None else 0
    return int(done), total


def material_record(node) -> dict:
    """One material as plain data: file, state, protocol, ladder progress and, once finished, its targets."""
    done, total = temperature_progress(node)
    ladder = ladder_of(node)
    record = {
        'pk': node.pk,
        'uuid': node.uuid,
        'cif': node.base.extras.get('cif_file', None) or node.inputs.cif.filename,
        'cif_uuid': node.inputs.cif.uuid,
        'protocol': node.base.extras.get('protocol', None),
        'state': material_state(node),
        'terminated': node.is_terminated,
        'temperatures_done': done,
        'temperatures_total': total,
        'current_temperature': ladder.base.extras.get('current_temperature', None) if ladder is not None else None,
        'message': node.exit_message or '',
        'cp_u': None,
        'cp_u_stderr': None,
        'temperatures': [],
        'v_atom': [],
        'v_atom_std': [],
        'pe_per_atom': [],
        'flags': [],
        'units': {},
    }
    broken = record['state'] == 'broken physics'
    if (node.is_finished_ok or broken) and 'targets' in node.outputs:
        targets = node.outputs.targets.get_dict()
        stderr = targets.get('cp_u_stderr')
        record.update({
            'cp_u': targets.get('cp_u'),
            'cp_u_stderr': None if stderr is None or stderr != stderr else stderr,  # NaN: one temperature, no slope
            'temperatures': targets.get('temperatures', []),
            'v_atom': targets.get('v_atom', []),
            'v_atom_std': targets.get('v_atom_std', []),
            'pe_per_atom': targets.get('pe_per_atom', []),
            'flags': sorted(name for name, raised in targets.get('flags', {}).items() if raised),
            'units': targets.get('units', {}),
        })
    if broken:
        record['flags'] = ['broken_physics', *record['flags']]
    return record


def group_progress(nodes) -> dict:
    """Counts over materials: ``materials``, ``finished``, ``failed``, ``running``, ``temperatures_done``/``_total``."""
    counts = {'materials': 0, 'finished': 0, 'failed': 0, 'running': 0, 'temperatures_done': 0,
              'temperatures_total': 0, 'now': []}
    for node in nodes:
        done, total = temperature_progress(node)
        counts['materials'] += 1
        counts['temperatures_done'] += done
        counts['temperatures_total'] += total
        if node.is_finished_ok:
            counts['finished'] += 1
        elif node.is_terminated:
            counts['failed'] += 1
        else:
            counts['running'] += 1
            ladder = ladder_of(node)
            current = ladder.base.extras.get('current_temperature', None) if ladder is not None else None
            name = _basename(node.base.extras.get('cif_file', None) or node.inputs.cif.filename)
            if ladder is None:
                counts['now'].append(f'{name} parametrising')
            elif ladder.is_terminated or (total and done >= total):
                counts['now'].append(f'{name} computing targets')
            elif current is None:
                counts['now'].append(f'{name} minimising/equilibrating')
            else:
                counts['now'].append(f'{name} at {current:g} K')
    return counts


def _basename(path: str) -> str:
    return str(path).replace('\\', '/').rsplit('/', 1)[-1]


def group_datasets(group: orm.Group, materials=None) -> list:
    """``DatasetData`` nodes made from this group: labelled with it, or made only of its materials."""
    from aiida_perovskite.data import DatasetData

    members = {node.uuid for node in (materials if materials is not None else group_materials(group))}
    found = {}
    for (dataset,) in orm.QueryBuilder().append(DatasetData).iterall():
        made_from = set(dataset.base.attributes.get('materials', []) or [])
        if dataset.base.extras.get('group', None) == group.label or (made_from and made_from <= members):
            found[dataset.pk] = dataset
    return sorted(found.values(), key=lambda dataset: (dataset.ctime, dataset.pk))


def trainings_of(datasets) -> list:
    """``(train_models node, dataset)`` of every finished training on one of ``datasets``, oldest first."""
    if not datasets:
        return []
    from aiida_perovskite.data import DatasetData

    builder = orm.QueryBuilder()
    builder.append(DatasetData, filters={'id': {'in': [dataset.pk for dataset in datasets]}}, tag='dataset', project='*')
    builder.append(orm.CalcFunctionNode, with_incoming='dataset', tag='training', project='*',
                   filters={'attributes.process_label': 'train_models', 'attributes.exit_status': 0})
    builder.order_by({'training': [{'ctime': 'asc'}, {'id': 'asc'}]})
    return [(training, dataset) for dataset, training in builder.all()]


def model_record(model, training, dataset) -> dict:
    """One ``TrainedModelData`` as plain data (its cross-validated test R2 and where it came from)."""
    metrics = model.base.attributes.get('metrics', {}) or {}
    return {
        'pk': model.pk,
        'uuid': model.uuid,
        'label': model.label,
        'task': model.task,
        'family': model.family,
        'units': model.base.attributes.get('units', ''),
        'n_materials': model.base.attributes.get('n_materials', None),
        'test_r2_mean': metrics.get('test_r2_mean'),
        'test_r2_std': metrics.get('test_r2_std'),
        'rmse': model.base.attributes.get('rmse', None),
        'dataset_pk': dataset.pk,
        'training_pk': training.pk,
    }


def group_models(trainings) -> list:
    """Model records of the given trainings (``(train_models node, dataset)`` pairs), oldest first.

    ``newest`` is True for the latest model of each task, family and dataset: training the same
    group again adds models without removing the earlier ones.
    """
    from aiida_perovskite.data import TrainedModelData

    records = []
    for training, dataset in trainings:
        links = training.base.links.get_outgoing(node_class=TrainedModelData).all()
        for link in sorted(links, key=lambda link: (link.node.ctime, link.node.pk)):
            records.append(model_record(link.node, training, dataset))
    latest = {}
    for index, record in enumerate(records):
        latest[(record['task'], record['family'], record['dataset_pk'])] = index
    for index, record in enumerate(records):
        record['newest'] = latest[(record['task'], record['family'], record['dataset_pk'])] == index
    return records


def report_folders(trainings) -> list:
    """``(training, FolderData)`` of each training's own report (parity plots, learning curves, tables)."""
    folders = []
    for training, _ in trainings:
        outgoing = training.base.links.get_outgoing(link_label_filter='report').all()
        if outgoing:
            folders.append((training, outgoing[0].node))
    return folders


def predictions_of(models) -> list:
    """Screening predictions (``predict_properties`` results) made with the models of ``models`` (records)."""
    from aiida_perovskite.data import TrainedModelData

    if not models:
        return []
    builder = orm.QueryBuilder()
    builder.append(TrainedModelData, filters={'id': {'in': [model['pk'] for model in models]}}, tag='model', project='id')
    builder.append(orm.CalcFunctionNode, with_incoming='model', tag='predict', project='*',
                   filters={'attributes.process_label': 'predict_properties', 'attributes.exit_status': 0})
    builder.append(orm.Dict, with_incoming='predict', project='*')
    builder.order_by({'predict': [{'ctime': 'asc'}, {'id': 'asc'}]})
    records = []
    for model_pk, calculation, result in builder.all():
        values = result.get_dict()
        records.append({
            'pk': result.pk,
            'model_pk': model_pk,
            'cif': _screened_cif(calculation),
            'task': values.get('task'),
            'family': values.get('family'),
            'prediction': values.get('prediction'),
            'uncertainty': values.get('uncertainty'),
            'units': values.get('units'),
            'temperature': values.get('temperature'),
        })
    return records


def _screened_cif(calculation) -> str:
    """The file name of the CIF a prediction was made for (features <- decomposition <- CIF)."""
    try:
        decomposition = calculation.inputs.features.creator.inputs.decomposition
        return decomposition.creator.inputs.cif.filename
    except Exception:  # made from features of another origin
        return ''


def group_report(group_label: str) -> dict:
    """Everything ``aiida-perovskite report`` shows about a group, as plain data.

    :returns: ``group``, ``materials`` (records), ``datasets`` (pk, materials, rows), ``models``
        (records), ``predictions`` (records) and ``report_folders`` (``(training pk, FolderData)``).
    :raises LookupError: there is no such group.
    """
    group = load_group(group_label)
    materials = group_materials(group)
    datasets = group_datasets(group, materials)
    trainings = trainings_of(datasets)
    models = group_models(trainings)
    return {
        'group': group.label,
        'materials': [material_record(node) for node in materials],
        'datasets': [{'pk': dataset.pk, 'uuid': dataset.uuid,
                      'n_materials': dataset.base.attributes.get('n_materials', None),
                      'n_rows': dataset.base.attributes.get('n_rows', None)} for dataset in datasets],
        'models': models,
        'predictions': predictions_of(models),
        'report_folders': [(training.pk, folder) for training, folder in report_folders(trainings)],
    }


def export_entities(group_label: str) -> list:
    """What ``aiida-perovskite export`` puts in an archive for a group (AiiDA follows the provenance from these).

    The group (its materials, whose inputs, sub-processes and outputs AiiDA's export rules
    include), the datasets made from it, the trainings on them (with models, metrics and report
    folders) and the screening calculations that used those models.
    """
    group = load_group(group_label)
    materials = group_materials(group)
    datasets = group_datasets(group, materials)
    trainings = trainings_of(datasets)
    entities = [group, *datasets, *(training for training, _ in trainings)]
    models = group_models(trainings)
    if models:
        from aiida_perovskite.data import TrainedModelData

        builder = orm.QueryBuilder()
        builder.append(TrainedModelData, filters={'id': {'in': [model['pk'] for model in models]}}, tag='model')
        builder.append(orm.CalcFunctionNode, with_incoming='model', project='*',
                       filters={'attributes.process_label': 'predict_properties'})
        entities.extend(builder.all(flat=True))
    return entities
