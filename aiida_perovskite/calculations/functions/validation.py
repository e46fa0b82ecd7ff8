"""Calcfunction: a simulated cell against its reference cell (:func:`aiida_perovskite.analysis.validation.compare_with_reference`)."""

from __future__ import annotations

import numpy as np
from aiida import orm
from aiida.engine import calcfunction

#: What a validation record carries of the core comparison (analysis.validation.compare_lattice_with_reference).
FIGURES = ('stacking_axis', 'rows', 'deviations', 'octahedra', 'simulated', 'reference')


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
    :param final_structure: the last configuration, for the octahedra check.
    :param reference: ``temperature``, ``temperature_source`` and optionally ``cell`` (a, b, c,
        alpha, beta, gamma, ``metals``, ``slabs``, ``n_layers``, ``stacking`` axis index, ``source``)
        for a reference whose cell choice differs from the simulated one.
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
    })
