"""Materials in a group: one ``MaterialWorkChain`` per CIF, found again by the CIF's content and protocol."""

from __future__ import annotations

import hashlib
import pathlib

from aiida import orm


def cif_md5(path: pathlib.Path) -> str:
    """The key a material is found by: the md5 of its CIF's bytes (raises OSError if unreadable)."""
    return hashlib.md5(pathlib.Path(path).read_bytes()).hexdigest()


def materials_by_key(group: orm.Group) -> dict:
    """The group's material work chains by ``(cif_md5, protocol, parameter_set)`` (the last None unless the
    run named a parameter set, see :func:`register_material`).

    A CIF run more than once (a failed attempt, then a new one) is represented by its finished
    run, else by one still under way, else by its newest attempt, whatever order the group
    lists them in, so a re-run never submits again a material that has finished.
    """
    def preference(node):
        return (node.is_finished_ok, not node.is_terminated, node.ctime, node.pk)

    chosen = {}
    for node in group.nodes:
        if not isinstance(node, orm.WorkflowNode):
            continue
        key = (node.base.extras.get('cif_md5', None), node.base.extras.get('protocol', None),
               node.base.extras.get('parameter_set_request', None))
        if key not in chosen or preference(node) > preference(chosen[key]):
            chosen[key] = node
    return chosen


def is_broken_physics(node) -> bool:
    """The material (or validation) ran to its end but its structure broke: ``ERROR_BROKEN_PHYSICS``, outputs kept."""
    from aiida_perovskite.common.exit_codes import EXIT_CODES

    return node.is_terminated and node.exit_status == EXIT_CODES['ERROR_BROKEN_PHYSICS'].status


def physics_problems(node) -> list[str]:
    """Why a terminated material's physics broke (its ``physics`` output), empty when it held or was not checked."""
    if 'physics' not in node.outputs:
        return []
    return list(node.outputs.physics.get('problems', []))


def needs_running(previous) -> bool:
    """A material is (re)submitted unless it finished well, is still under way, or ran to its end with broken
    physics (the same force field would break it again: a flag to look at, not a failure to retry)."""
    return previous is None or (previous.is_terminated and not previous.is_finished_ok and not is_broken_physics(previous))


def material_builder(path: pathlib.Path, codes: dict, protocol: str, options: dict | None = None, overrides=None):
    """The ``MaterialWorkChain`` builder of one CIF file."""
    from aiida_perovskite.workflows.material import MaterialWorkChain

    path = pathlib.Path(path)
    cif = orm.CifData(file=str(path.resolve()), filename=path.name)
    return MaterialWorkChain.get_builder_from_protocol(codes, cif, protocol, overrides=overrides, options=options)


def register_material(node, group: orm.Group, md5: str, protocol: str, path, parameter_set: str | None = None) -> None:
    """Put a material's work chain in the group with the extras ``run``, ``status`` and ``dataset`` read
    (``parameter_set_request``: the parameter set the run named instead of the protocol's, if any)."""
    extras = {'cif_md5': md5, 'protocol': protocol, 'cif_file': str(path)}
    if parameter_set:
        extras['parameter_set_request'] = parameter_set
    node.base.extras.set_many(extras)
    group.add_nodes(node)
