"""Materials in a group: one ``MaterialWorkChain`` per CIF, found again by the CIF's content and protocol."""

from __future__ import annotations

import hashlib
import pathlib

from aiida import orm


def cif_md5(path: pathlib.Path) -> str:
    """The key a material is found by: the md5 of its CIF's bytes (raises OSError if unreadable)."""
    return hashlib.md5(pathlib.Path(path).read_bytes()).hexdigest()


def materials_by_key(group: orm.Group) -> dict:
    """The group's material work chains by ``(cif_md5, protocol)``."""
    return {
        (node.base.extras.get('cif_md5', None), node.base.extras.get('protocol', None)): node
        for node in group.nodes if isinstance(node, orm.WorkflowNode)
    }


def needs_running(previous) -> bool:
    """A material is (re)submitted unless it finished well or is still under way."""
    return previous is None or (previous.is_terminated and not previous.is_finished_ok)


def material_builder(path: pathlib.Path, codes: dict, protocol: str, options: dict | None = None, overrides=None):
    """The ``MaterialWorkChain`` builder of one CIF file."""
    from aiida_perovskite.workflows.material import MaterialWorkChain

    path = pathlib.Path(path)
    cif = orm.CifData(file=str(path.resolve()), filename=path.name)
    return MaterialWorkChain.get_builder_from_protocol(codes, cif, protocol, overrides=overrides, options=options)


def register_material(node, group: orm.Group, md5: str, protocol: str, path) -> None:
    """Put a material's work chain in the group with the extras ``run``, ``status`` and ``dataset`` read."""
    node.base.extras.set_many({'cif_md5': md5, 'protocol': protocol, 'cif_file': str(path)})
    group.add_nodes(node)
