"""Calcfunction: a simulated cell against its reference cell (:func:`aiida_perovskite.analysis.validation.compare_with_reference`)."""

from __future__ import annotations

import numpy as np
from aiida import orm
from aiida.engine import calcfunction

#: What a validation record carries of the core comparison (analysis.validation.compare_lattice_with_reference).
FIGURES = ('stacking_axis', 'rows', 'deviations', 'octahedra', 'contacts', 'simulated', 'reference')


def validation_physics(figures: dict, settings: dict | None = None) -> dict:
    """:func:`~aiida_perovskite.analysis.physics.physics_check` of a comparison: its octahedra and its volume
    deviation from the reference cell (``settings``: the ``PhysicsChecks`` thresholds, default when None)."""
    from aiida_perovskite.analysis.physics import PhysicsChecks, physics_check

    volume = figures['deviations']['volume'] / 100.0
    return physics_check(figures['octahedra'], {'the reference temperature': volume}, PhysicsChecks(**(settings or {})))


def cell_of(structure: orm.StructureData):
    """The plain :class:`~aiida_perovskite.analysis.validation.Cell` of a ``StructureData``."""
    from aiida_perovskite.analysis.validation import Cell

    sites = structure.sites
    return Cell([structure.get_kind(site.kind_name).symbol for site in sites],
                np.array([site.position for site in sites]), np.array(structure.cell))


@calcfunction
def compare_with_reference(
    structure: orm.StructureData,
    decomposition: orm.Dict,
    summary: orm.Dict,
    topology: orm.FolderData,
    final_structure: orm.StructureData,
    reference: orm.Dict,
) -> orm.Dict:
    """Deviations of the simulated mean cell from the reference cell, and the octahedra check.

    :param structure: the decomposed input cell (its lattice is the reference unless ``reference``
        gives a ``cell``).
    :param summary: the NPT run's summary at the reference temperature (box means).
    :param topology: the LAMMPS topology: replication, charge model and parameter set.
    :param final_structure: the last configuration, quenched where the ladder gives it so, for the octahedra check.
    :param reference: ``temperature``, ``temperature_source`` and optionally ``cell`` (a, b, c,
        alpha, beta, gamma, ``metals``, ``slabs``, ``n_layers``, ``stacking`` axis index, ``source``)
        for a reference whose cell choice differs from the simulated one, and ``physics_checks`` (the
        thresholds of :class:`~aiida_perovskite.analysis.physics.PhysicsChecks`).
    :returns: the record; its ``physics`` says whether the octahedra broke or the volume ran away.
    """
    from aiida_perovskite.analysis.validation import compare_with_reference as compare

    record = decomposition.get_dict()
    settings = reference.get_dict()
    attributes = topology.base.attributes.all
    figures = compare(record, cell_of(structure), cell_of(final_structure), summary.get_dict(),
                      attributes['replication'], settings.get('cell'))
    return orm.Dict({
        'file': record['file'],
        'formula': record['formula'],
        'reference_source': figures['reference_source'],
        'temperature': settings['temperature'],
        'temperature_source': settings.get('temperature_source', 'given'),
        'charge_model': attributes.get('charge_model', 'formal'),
        'parameter_set': attributes.get('parameter_set'),
        'charge_method': attributes.get('charge_method'),
        'replication': attributes['replication'],
        'n_atoms': attributes['n_atoms'],
        **{key: figures[key] for key in FIGURES},
        'physics': validation_physics(figures, settings.get('physics_checks')),
    })


@calcfunction
def compare_relaxed_with_reference(
    structure: orm.StructureData,
    decomposition: orm.Dict,
    relaxed: orm.StructureData,
    output_parameters: orm.Dict,
    reference: orm.Dict,
) -> orm.Dict:
    """Deviations of a 0 K relaxed cell (an MLIP's) from the reference cell, and the octahedra check.

    :param structure: the decomposed input cell (its lattice is the reference unless ``reference`` gives a
        ``cell``); :param relaxed: the relaxed cell, same cell choice and site order.
    :param output_parameters: the relaxation's (``MlipCalculation``): the potential record and energies.
    :param reference: optionally ``cell`` (see :func:`compare_with_reference`).
    """
    from aiida_perovskite.analysis.validation import compare_lattice_with_reference

    record = decomposition.get_dict()
    settings = reference.get_dict()
    relaxation = output_parameters.get_dict()
    figures = compare_lattice_with_reference(record, cell_of(structure), cell_of(relaxed), np.array(relaxed.cell),
                                             settings.get('cell'))
    return orm.Dict({
        'file': record['file'],
        'formula': record['formula'],
        'engine': f'mlip:{relaxation["potential"]["name"]}',
        'potential': relaxation['potential'],
        'energy_per_atom_ev': relaxation['energy_per_atom_ev'],
        'reference_source': figures['reference_source'],
        'temperature': 0.0,
        'temperature_source': '0 K relaxation',
        'n_atoms': len(relaxed.sites),
        'replication': [1, 1, 1],
        **{key: figures[key] for key in FIGURES},
        'physics': validation_physics(figures, settings.get('physics_checks')),
    })


@calcfunction
def check_physics(structure: orm.StructureData, decomposition: orm.Dict, final_structure: orm.StructureData,
                  settings: orm.Dict, **summaries: orm.Dict) -> orm.Dict:
    """Whether a material's run broke (:func:`aiida_perovskite.analysis.physics.physics_check`).

    :param structure: the decomposed input cell; :param final_structure: the last configuration of the ladder,
        quenched (its ``quenched_structure``) where the ladder gives one.
    :param settings: the thresholds (:class:`~aiida_perovskite.analysis.physics.PhysicsChecks`).
    :param summaries: the ladder's per-temperature summaries: each mean volume per atom is compared
        with the input cell's.
    """
    from aiida_perovskite.analysis.physics import PhysicsChecks, physics_check
    from aiida_perovskite.analysis.validation import metal_and_halide_elements, octahedra_check, octahedron_cutoffs

    record = decomposition.get_dict()
    cell, final = cell_of(structure), cell_of(final_structure)
    metals, halides = metal_and_halide_elements(record, cell.symbols)
    cutoffs = octahedron_cutoffs(cell.symbols, cell.positions, cell.lattice, metals, halides)
    octahedra = octahedra_check(final.symbols, final.positions, final.lattice, metals, halides, cutoffs)
    octahedra['reference_share'] = octahedra_check(cell.symbols, cell.positions, cell.lattice, metals, halides,
                                                   cutoffs)['share']
    volume_per_atom = abs(float(np.linalg.det(cell.lattice))) / len(cell.symbols)
    changes = {f'{summary["temperature"]:g} K': summary['volume_per_atom_mean'] / volume_per_atom - 1
               for summary in (node.get_dict() for node in summaries.values())}
    return orm.Dict({**physics_check(octahedra, changes, PhysicsChecks(**settings.get_dict())), 'octahedra': octahedra})
