"""Calcfunction: a simulated cell against its reference cell (the figures of :mod:`aiida_perovskite.analysis.validation`)."""

from __future__ import annotations

import numpy as np
from aiida import orm
from aiida.engine import calcfunction


def metal_and_halide_elements(structure: orm.StructureData, record: dict) -> tuple[list[str], list[str]]:
    """The B-site metals (the record's oxidation states) and the halides of a decomposed cell's inorganic part."""
    metals = sorted(record['oxidation_states'])
    sites = structure.sites
    inorganic = {structure.get_kind(sites[i].kind_name).symbol for i in record['inorganic_indices']}
    return metals, sorted(inorganic - set(metals))


def count_metals(structure: orm.StructureData, metals) -> int:
    return sum(structure.get_kind(site.kind_name).symbol in metals for site in structure.sites)


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
    from aiida_perovskite.analysis.features import _stacking_index
    from aiida_perovskite.analysis.validation import (
        cell_figures,
        compare_cells,
        octahedra_check,
        reference_from_parameters,
        simulated_lattice,
        summary_line,
    )

    record = decomposition.get_dict()
    settings = reference.get_dict()
    attributes = topology.base.attributes.all
    metals_elements, halides = metal_and_halide_elements(structure, record)
    lattice = np.array(structure.cell)
    stacking = _stacking_index(record['miller_index'], lattice)
    metals = count_metals(structure, metals_elements)
    simulated = cell_figures(simulated_lattice(summary.get_dict(), attributes['replication']), stacking, metals,
                             record['n_slabs'], record['n_layers'])
    given = settings.get('cell')
    if given:
        matrix = reference_from_parameters(*(given[key] for key in ('a', 'b', 'c', 'alpha', 'beta', 'gamma')))
        expected = cell_figures(matrix, int(given.get('stacking', 2)), given['metals'], given['slabs'],
                                given.get('n_layers', 1))
        source = given.get('source', 'given cell')
    else:
        expected = cell_figures(lattice, stacking, metals, record['n_slabs'], record['n_layers'])
        source = f'the CIF\'s own cell ({record["file"]})'
    rows = compare_cells(simulated, expected, stacking, same_cell=not given)
    def check(node):
        return octahedra_check([node.get_kind(site.kind_name).symbol for site in node.sites],
                               [site.position for site in node.sites], np.array(node.cell), metals_elements, halides)

    octahedra = check(final_structure)
    octahedra['reference_share'] = check(structure)['share']  # the input cell by the same criterion
    return orm.Dict({
        'file': record['file'],
        'formula': record['formula'],
        'reference_source': source,
        'temperature': settings['temperature'],
        'temperature_source': settings.get('temperature_source', 'given'),
        'charge_model': attributes.get('charge_model', 'formal'),
        'parameter_set': attributes.get('parameter_set'),
        'charge_method': attributes.get('charge_method'),
        'replication': attributes['replication'],
        'n_atoms': attributes['n_atoms'],
        'stacking_axis': 'abc'[stacking],
        'rows': rows,
        'deviations': summary_line(rows),
        'octahedra': octahedra,
        'simulated': simulated,
        'reference': expected,
    })
