"""A readable provenance graph of one material (CIF to trained models) or of one model (back to its CIFs).

A material's full provenance has hundreds of nodes (every LAMMPS segment, restart and retrieved
folder of the ladder). The graph drawn here keeps the main path and collapses the rest:

* ``--material``: CIF -> ``decompose_cif`` -> the parametrisation's calculations (antechamber,
  parmchk2, tleap, topology writer) -> topology -> the ladder as one box with its per-temperature
  summaries -> targets and features -> the datasets that used them -> the trainings -> models.
* ``--model``: the model, its training and dataset, and per training material its CIF, its
  ``MaterialWorkChain`` (one box) and the targets and features it returned.

Edges are the real links between the kept nodes (create, input, call and, where the creating
calculation is hidden inside a collapsed work chain, return links).
"""

from __future__ import annotations

import pathlib

from aiida import orm
from aiida.common.links import LinkType
from aiida.orm.utils.links import LinkPair

#: Data classes always worth showing when a kept process produced them.
_SHOWN_DATA = ('CifData', 'DatasetData', 'TrainedModelData', 'LammpsTopologyData', 'ParameterSetData')


class _Selection:
    """The nodes kept in the drawing, with a short description of each."""

    def __init__(self):
        self.nodes: dict[int, orm.Node] = {}
        self.notes: dict[int, str] = {}
        self.highlight: set[int] = set()

    def add(self, node, note: str | None = None):
        self.nodes[node.pk] = node
        if note:
            self.notes[node.pk] = note
        return node


def _link_label(label: str) -> str:
    return label.replace('__', '.')


def _outputs(process, link_types=(LinkType.CREATE, LinkType.RETURN)) -> list:
    return process.base.links.get_outgoing(link_type=link_types).all()


def _called(process) -> list:
    return sorted((link.node for link in process.base.links.get_outgoing(
        link_type=(LinkType.CALL_CALC, LinkType.CALL_WORK)).all()), key=lambda node: node.pk)


def _consumers(node, process_label: str) -> list:
    builder = orm.QueryBuilder().append(orm.Node, filters={'id': node.pk}, tag='data')
    builder.append(orm.ProcessNode, with_incoming='data', filters={'attributes.process_label': process_label})
    return sorted(builder.all(flat=True), key=lambda found: found.pk)


def _add_downstream(selection: _Selection, targets) -> None:
    """Datasets that used this material's targets, the trainings on them and the models they stored."""
    from aiida_perovskite.data import DatasetData, TrainedModelData

    for assemble in _consumers(targets, 'assemble_dataset'):
        selection.add(assemble)
        for link in _outputs(assemble):
            if isinstance(link.node, DatasetData):
                dataset = selection.add(link.node, f'{link.node.base.attributes.get("n_materials", "?")} materials')
                for training in _consumers(dataset, 'train_models'):
                    selection.add(training)
                    for output in _outputs(training):
                        if isinstance(output.node, TrainedModelData):
                            selection.add(output.node, output.node.label or _link_label(output.link_label))
                        elif output.link_label == 'report':
                            selection.add(output.node, 'report')


def select_material(material) -> _Selection:
    """The main path of one ``MaterialWorkChain``, from its CIF to the models trained on it."""
    selection = _Selection()
    cif = material.inputs.cif
    selection.add(cif, cif.filename)
    selection.add(material, material.base.extras.get('protocol', None))
    selection.highlight |= {cif.pk, material.pk}
    produced_by_kept = {}
    for child in _called(material):
        label = child.process_label
        selection.add(child)
        if label == 'ParametriseWorkChain':  # expanded: its calculations and the files they pass on
            for grandchild in _called(child):
                selection.add(grandchild)
                for link in _outputs(grandchild, (LinkType.CREATE,)):
                    produced_by_kept[link.node.pk] = (link.node, link.link_label)
                for link in grandchild.base.links.get_incoming(node_class=orm.Data).all():
                    if type(link.node).__name__ == 'ParameterSetData':
                        selection.add(link.node, link.node.label)
        for link in _outputs(child):
            produced_by_kept.setdefault(link.node.pk, (link.node, link.link_label))
    # Data passed from one kept process to another, and the products worth showing.
    consumed = set()
    for process in list(selection.nodes.values()):
        if isinstance(process, orm.ProcessNode):
            consumed |= {link.node.pk for link in process.base.links.get_incoming(node_class=orm.Data).all()}
    for pk, (node, label) in produced_by_kept.items():
        summary = label.startswith('summaries__')
        if pk in consumed or summary or type(node).__name__ in _SHOWN_DATA:
            selection.add(node, _link_label(label))
    if material.is_finished_ok:
        targets, features = material.outputs.targets, material.outputs.features
        selection.add(targets, 'targets')
        selection.add(features, 'features')
        _add_downstream(selection, targets)
    return selection


def select_model(model) -> _Selection:
    """A model, its training and dataset, and per training material its CIF, work chain, targets and features."""
    from aiida_perovskite.data import TrainedModelData

    selection = _Selection()
    selection.add(model, model.label or f'{model.task}/{model.family}')
    selection.highlight.add(model.pk)
    training = model.creator
    if training is None:
        return selection
    selection.add(training)
    for link in _outputs(training):
        if isinstance(link.node, TrainedModelData) or link.link_label == 'report':
            selection.add(link.node, link.node.label or _link_label(link.link_label))
    for link in training.base.links.get_incoming(node_class=orm.Data).all():
        dataset = selection.add(link.node, _link_label(link.link_label))
        assemble = dataset.creator
        if assemble is None or type(dataset).__name__ != 'DatasetData':
            continue
        selection.add(assemble)
        for source in assemble.base.links.get_incoming(node_class=orm.Data).all():
            if source.link_label.startswith(('cif_', 'targets_', 'features_')):
                selection.add(source.node, source.node.filename if isinstance(source.node, orm.CifData)
                              else source.link_label.split('_')[0])
            if source.link_label.startswith('targets_'):
                material = next((ret.node for ret in source.node.base.links.get_incoming(link_type=LinkType.RETURN).all()
                                 if ret.node.process_label == 'MaterialWorkChain'), None)
                if material is not None:
                    selection.add(material, material.base.extras.get('cif_file', None))
    return selection


def draw(selection: _Selection, title: str):
    """An :class:`aiida.tools.visualization.Graph` of the selected nodes and the links between them."""
    from aiida.tools.visualization import Graph
    from aiida.tools.visualization.graph import default_node_sublabels

    notes = selection.notes

    def sublabel(node):
        default = default_node_sublabels(node)
        note = notes.get(node.pk)
        return '\n'.join(part for part in (note, default) if part)

    graph = Graph(graph_attr={'rankdir': 'TB', 'label': title, 'labelloc': 't', 'fontsize': '18'},
                  node_sublabel_fn=sublabel)
    for node in sorted(selection.nodes.values(), key=lambda node: node.pk):
        graph.add_node(node, style_override={'penwidth': '4'} if node.pk in selection.highlight else None)
    kept = selection.nodes
    for node in kept.values():
        incoming = [link for link in node.base.links.get_incoming().all() if link.node.pk in kept]
        returners = {link.node.pk for link in incoming if link.link_type == LinkType.RETURN}
        for link in incoming:
            source = link.node
            if link.link_type == LinkType.CALL_CALC:
                continue  # a work chain's calculations are drawn by the data they pass on; call lines clutter
            if link.link_type == LinkType.RETURN:
                if node.creator is not None and node.creator.pk in kept:
                    continue  # the create link already shows where it came from
                if any(kept[pk].caller is not None and kept[pk].caller.pk == source.pk for pk in returners):
                    continue  # passed up from a kept sub-work chain, which is drawn returning it
            graph.add_edge(source, node, link_pair=LinkPair(link.link_type, link.link_label))
    return graph


def render(graph, path) -> pathlib.Path:
    """Render to ``path``; the format is the suffix (``.svg``, ``.png``, ``.pdf``). Needs Graphviz's ``dot``."""
    path = pathlib.Path(path)
    fmt = path.suffix.lstrip('.').lower() or 'svg'
    path.parent.mkdir(parents=True, exist_ok=True)
    written = graph.graphviz.render(filename=path.stem, directory=str(path.parent), format=fmt, cleanup=True)
    written = pathlib.Path(written)
    if written != path:
        written.replace(path)
    return path
