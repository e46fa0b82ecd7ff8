"""Built cells with provenance: the build as a calcfunction, and its short relaxation at 300 K.

The figures of a relaxed cell are computed by :func:`aiida_perovskite.analysis.lattice.relaxed_lattice`;
this module only runs the AiiDA processes and maps their nodes to that function's inputs.
"""

from __future__ import annotations

from aiida import orm

from aiida_perovskite.analysis.lattice import RelaxedLattice, relaxed_lattice

__all__ = ('build_with_provenance', 'relax_built_cell', 'relaxation_builder', 'relaxation_overrides',
           'relaxed_cell_lattice')


def build_with_provenance(smiles: str, settings: dict, label: str = 'spacer') -> tuple[orm.CalcFunctionNode, str, str]:
    """Build the cell as a ``perovskite.build`` calcfunction (the profile must be loaded).

    :param settings: the builder's settings (:data:`aiida_perovskite.builder.builder.DEFAULTS` fill the rest).
    :param label: the spacer's name in the CIF's file name.
    :returns: the calcfunction node, the CIF's text and its file name.
    :raises aiida_perovskite.builder.BuildError: the builder refused the spacer or the settings.
    """
    from aiida_perovskite.builder import BuildError
    from aiida_perovskite.calculations.functions.build import build_perovskite

    _, node = build_perovskite.run_get_node(orm.Str(smiles), orm.Dict({**settings, 'label': label}))
    if not node.is_finished_ok:
        raise BuildError(node.exit_message.removeprefix('BuildError: '))
    cif = node.outputs.cif
    with cif.open(mode='r') as handle:
        return node, handle.read(), cif.filename


def relaxation_overrides(steps: int, charges: str | None = None) -> dict:
    """Overrides of the default protocol (``run``'s) for a relaxation: ``steps`` NPT steps at 300 K after
    half as many (at least 100) of equilibration, a 2x2x2 supercell, and the spacers' ``charges``
    (bcc|gas; ``None``: the protocol's). Everything else (force field, cut-off, time step) is the protocol's."""
    equilibration = max(steps // 2, 100)
    overrides = {
        'parametrise': {'lammps': {'replication': {'in_plane': 2, 'stacking': 2}}},
        'ladder': {'temperatures': [300], 'steps_per_temperature': steps, 'equilibration_steps': equilibration,
                   'equilibration_cut': steps // 5, 'thermo_every': 100, 'restart_every': max(steps // 2, 100)},
    }
    if charges:
        overrides['parametrise']['charge_method'] = charges
    return overrides


def relaxation_builder(build_node: orm.CalcFunctionNode, codes: dict, steps: int = 10000,
                       charges: str | None = None):
    """The ``MaterialWorkChain`` builder of :func:`relax_built_cell` (default protocol, :func:`relaxation_overrides`)."""
    from aiida_perovskite.workflows.material import MaterialWorkChain

    return MaterialWorkChain.get_builder_from_protocol(codes, build_node.outputs.cif, None,
                                                       relaxation_overrides(steps, charges))


def relax_built_cell(build_node: orm.CalcFunctionNode, codes: dict, steps: int = 10000,
                     charges: str | None = None, builder=None) -> orm.WorkChainNode:
    """Parametrise the built cell and run it briefly at 300 K, in this process; return the work chain's node.

    A ``MaterialWorkChain`` on the default protocol (``run``'s) with one temperature and a 2x2x2
    supercell (:func:`relaxation_overrides`), started from the built CIF node, so the provenance
    runs from the SMILES to the relaxed cell (its Cp(U) is None: one temperature has no slope).
    Whether it finished is for the caller to check (``is_finished_ok``).
    """
    from aiida.engine import run_get_node

    _, node = run_get_node(builder or relaxation_builder(build_node, codes, steps, charges))
    return node


def relaxed_cell_lattice(relaxation: orm.WorkChainNode, build_node: orm.CalcFunctionNode) -> RelaxedLattice:
    """The per-cell lattice at 300 K of a finished :func:`relax_built_cell` (means after the cut)."""
    metals_per_layer = build_node.outputs.record['measured'].get('metals_per_layer', 1)
    replication = relaxation.outputs.parametrise.topology.base.attributes.get('replication')
    return relaxed_lattice(relaxation.outputs.ladder.summaries['T300'].get_dict(), replication, metals_per_layer)
