"""Calcfunctions of the structure search: candidates, their LAMMPS systems, relaxed results and the ranking.

The search itself is in :mod:`aiida_perovskite.search`; these functions move it between nodes.
"""

from __future__ import annotations

import io

import numpy as np
from aiida import orm
from aiida.engine import calcfunction

from aiida_perovskite.common.exit_codes import exit_code

#: kcal/mol (LAMMPS ``units real``) in eV.
KCAL_PER_MOL_EV = 4184.0 / (6.02214076e23 * 1.602176634e-19)  # eV per kcal/mol, from the exact SI constants


def candidate_key(index: int) -> str:
    return f'c{index:03d}'


@calcfunction
def generate_search_candidates(smiles: orm.Str, settings: orm.Dict):
    """``c000``, ``c001``...: the random candidates (StructureData) of :func:`aiida_perovskite.search.generate_candidates`,
    and ``records``: every choice that made each, by the same key."""
    from aiida_perovskite.builder import BuildError
    from aiida_perovskite.search import SearchError, generate_candidates

    try:
        candidates = generate_candidates(smiles.value, **settings.get_dict())
    except (BuildError, SearchError) as error:
        return exit_code('ERROR_SEARCH_GENERATION', f'{smiles.value}: {error}')
    outputs = {candidate_key(i): orm.StructureData(pymatgen=c.structure) for i, c in enumerate(candidates)}
    outputs['records'] = orm.Dict({candidate_key(i): c.record for i, c in enumerate(candidates)})
    return outputs


@calcfunction
def structure_to_cif(structure: orm.StructureData) -> orm.CifData:
    """The structure as a CIF (the parametrisation reads CIFs)."""
    from pymatgen.io.cif import CifWriter

    text = str(CifWriter(structure.get_pymatgen_structure()))
    return orm.CifData(file=io.BytesIO(text.encode()), filename='candidate.cif')


def spacer_permutation(template, symbols: list[str], indices: list[int], graph) -> list[int]:
    """For each atom of the template molecule (a ParmEd residue), the index of the same atom in a copy.

    The copy is the atoms ``indices`` of a candidate whose bonds are ``graph`` (the decomposition's own
    :func:`~aiida_perovskite.structure.graph.bond_graph`, periodic, so a molecule across a cell face
    keeps its bonds); the match is a graph isomorphism with elements as labels (atoms related by the
    molecule's symmetry are interchangeable).
    """
    import networkx as nx
    from networkx.algorithms import isomorphism

    first = nx.Graph()
    for atom in template.atoms:
        first.add_node(atom.idx, element=symbols_of(atom))
    for bond in template.bonds:
        first.add_edge(bond.atom1.idx, bond.atom2.idx)
    members = set(indices)
    second = nx.Graph()
    for i in indices:
        second.add_node(i, element=symbols[i])
        second.add_edges_from((i, j) for j, _ in graph.neighbours[i] if j in members)
    matcher = isomorphism.GraphMatcher(first, second, node_match=lambda a, b: a['element'] == b['element'])
    mapping = next(matcher.isomorphisms_iter(), None)
    if mapping is None:
        raise ValueError('the candidate\'s spacer is not the parametrised molecule (no bond-graph match)')
    return [indices.index(mapping[atom.idx]) for atom in template.atoms]


def symbols_of(atom) -> str:
    from pymatgen.core import Element

    return Element.from_Z(int(atom.atomic_number)).symbol


@calcfunction
def candidate_topology(structure: orm.StructureData, record: orm.Dict, prmtop: orm.SinglefileData,
                       parameter_set, settings: orm.Dict):
    """The LAMMPS system of one candidate from the spacer parametrised once (the first residue of ``prmtop``).

    Every spacer of the candidate (``record['molecules']``, site indices in the spacer's atom order) takes
    the template's GAFF types, charges and bonded terms; the layer's ions take ``parameter_set``'s. One
    cell, no replication: the site order of the LAMMPS system is the candidate's, organic first.
    ``settings``: ``cutoff``, ``kspace_accuracy``, ``heteroatom_policy``, ``charge_model``.
    """
    import pathlib
    import tempfile

    import parmed

    from aiida_perovskite.data import LammpsTopologyData
    from aiida_perovskite.forcefield import ForceFieldError
    from aiida_perovskite.forcefield.lammps import build_system
    from aiida_perovskite.structure.graph import bond_graph

    options = settings.get_dict()
    pymatgen = structure.get_pymatgen_structure()
    positions = pymatgen.cart_coords
    symbols = [site.specie.symbol for site in pymatgen]
    molecules = record['molecules']
    with tempfile.TemporaryDirectory() as folder:
        path = pathlib.Path(folder) / 'template.prmtop'
        with prmtop.open(mode='rb') as handle:
            path.write_bytes(handle.read())
        whole = parmed.load_file(str(path))
    template = whole[':1']
    try:
        order = spacer_permutation(template, symbols, molecules[0], bond_graph(pymatgen))
    except ValueError as error:
        return exit_code('ERROR_FORCEFIELD', str(error))
    organic = None
    for indices in molecules:
        copy = template.copy(parmed.Structure)
        copy.coordinates = positions[[indices[k] for k in order]]
        organic = copy if organic is None else organic + copy
    ions = [(symbols[i], positions[i]) for i in record['inorganic']]
    try:
        system = build_system(organic, ions, np.array(pymatgen.lattice.matrix), parameter_set.parameter_set,
                              policy=options['heteroatom_policy'], replication=(1, 1, 1),
                              charge_model=options['charge_model'])
    except ForceFieldError as error:
        return exit_code('ERROR_FORCEFIELD', f'{type(error).__name__}: {error}')
    topology = LammpsTopologyData.from_system(
        system, cutoff=options['cutoff'], kspace_accuracy=options['kspace_accuracy'],
        formula=pymatgen.composition.formula, source='structure search',
        charge_model=system.charge_model.spec, ion_charges=system.ion_charges,
        organic_charge_scale=system.organic_charge_scale, site_order=[k for indices in molecules for k in
                                                                   [indices[j] for j in order]] + record['inorganic'],
    )
    return {'topology': topology}


@calcfunction
def classical_result(final_data: orm.SinglefileData, thermo: orm.ArrayData, record: orm.Dict):
    """The minimised cell (sites back in the candidate's order) and its energy per formula unit (eV).

    ``record``: ``formula_units`` and ``site_order`` (the candidate's site of each LAMMPS atom).
    """
    from pymatgen.core import Structure

    from .ladder import lammps_data_structure

    lammps = lammps_data_structure(final_data.get_content())
    order = record['site_order']
    species, coords = [None] * len(order), [None] * len(order)
    for atom, site in enumerate(order):
        species[site], coords[site] = lammps[atom].species, lammps[atom].frac_coords
    structure = Structure(lammps.lattice, species, coords)
    energy = float(thermo.get_array('pe')[-1]) * KCAL_PER_MOL_EV / int(record['formula_units'])
    return {'structure': orm.StructureData(pymatgen=structure), 'energy': orm.Float(energy)}


@calcfunction
def mlip_energy(parameters: orm.Dict, formula_units: orm.Int) -> orm.Float:
    """The MLIP energy of a relaxed candidate per formula unit (eV)."""
    return orm.Float(float(parameters['energy_ev']) / int(formula_units.value))


@calcfunction
def rank_candidates(settings: orm.Dict, **nodes) -> orm.Dict:
    """Distinct structures by energy per formula unit: ``structure_<key>`` and ``energy_<key>`` nodes.

    ``settings``: StructureMatcher changes (``matcher``, optional). Returns ``order`` (keys by rank),
    ``energies`` (eV per formula unit), ``duplicates`` (key: the keys it stands for) and the gap to the next.
    """
    from aiida_perovskite.search import rank

    keys = sorted(key[len('structure_'):] for key in nodes if key.startswith('structure_'))
    structures = [nodes[f'structure_{key}'].get_pymatgen_structure() for key in keys]
    energies = [float(nodes[f'energy_{key}'].value) for key in keys]
    ranked = rank(structures, energies, **settings.get_dict().get('matcher', {}))
    order = [keys[r.index] for r in ranked]
    return orm.Dict({
        'order': order,
        'energies': {keys[r.index]: r.energy_per_fu for r in ranked},
        'duplicates': {keys[r.index]: [keys[d] for d in r.duplicates] for r in ranked},
        'gap_to_next': (ranked[1].energy_per_fu - ranked[0].energy_per_fu) if len(ranked) > 1 else None,
        'distinct': len(ranked),
        'ranked': len(keys),
    })


@calcfunction
def preselection_ranking(labelled) -> orm.Dict:
    """The candidates of an MLIP-labelled set of classical minima by MLIP energy per formula unit (eV).

    Each configuration's origin names its ``candidate`` and ``formula_units``. Returns ``order`` (lowest first)
    and ``energies``.
    """
    energies = {}
    for atoms in labelled.configurations():
        origin = atoms.info['origin']
        energies[origin['candidate']] = float(atoms.info['energy']) / int(origin['formula_units'])
    return orm.Dict({'order': sorted(energies, key=energies.get), 'energies': energies})


@calcfunction
def collect_energies(**energies) -> orm.Dict:
    """``classical_<key>`` and ``mlip_<key>`` energies (eV per formula unit) in one record."""
    record = {'classical': {}, 'mlip': {}}
    for name, node in energies.items():
        stage, key = name.split('_', 1)
        record[stage][key] = float(node.value)
    return orm.Dict(record)
