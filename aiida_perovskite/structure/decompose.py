"""Split a layered hybrid perovskite into its inorganic slabs and whole organic molecules.

The steps, in order (each raises its own :mod:`.errors` class):

1. bond graph (covalent radii + tolerance), refusing atoms that are too close;
2. organic molecules: connected organic atoms, unwrapped along their bonds so
   each molecule is whole in Cartesian space; bond orders and formal charges
   from explicit hydrogens (charge-separated groups such as nitro or
   carboxylate included); canonical SMILES with the stereochemistry the 3D
   positions fix; unique molecules and copies (the two enantiomers of a
   racemic cell are two unique molecules); neutral molecules (lattice water,
   solvents, zwitterions) are *guests*, charged ones spacers or A-site cations;
3. electroneutrality: molecule charges + metal oxidation states + halides (-1);
4. inorganic framework: metal-halide network, its dimensionality from periodic
   loops (2D = layered), the Miller plane of the layers, the stacking axis,
   metal planes per slab (``n``) and the gap between adjacent slabs.
"""

from __future__ import annotations

import dataclasses
import itertools
import pathlib
from collections import Counter

import numpy as np
from pymatgen.core import Lattice, Structure

from .bonding import Bonding, assign_bond_orders
from .cif import check_elements, read_cif
from .elements import A_SITE_CATIONS, HALOGENS, METAL_OXIDATION_STATES, ORGANIC_ELEMENTS, SUPPORTED_ELEMENTS
from .errors import BondingError, ChargeImbalanceError, NotLayeredError, StructureError
from .fragments import fragment_counts
from .graph import BondGraph, PeriodicComponent, bond_graph, periodic_components
from .smiles import canonical_smiles, skeleton

__all__ = ('Decomposition', 'Molecule', 'Slab', 'UniqueMolecule', 'decompose', 'inspect_cif')

#: The records the CIF reader leaves in a structure's ``properties`` when it changed the CIF.
READER_CHANGES = ('declared_formula', 'occupancy', 'disorder', 'hydrogens')

#: Metal atoms whose heights along the stacking normal differ by less than this
#: belong to the same metal plane (octahedral tilts move them by well under 1 A,
#: adjacent planes of an n > 1 slab are about 6 A apart).
PLANE_GAP = 2.0


@dataclasses.dataclass
class Molecule:
    """One organic molecule, whole (unwrapped) in Cartesian space."""

    indices: list[int]
    symbols: list[str]
    cartesian: np.ndarray
    edges: list[tuple[int, int]]
    bonding: Bonding
    smiles: str
    #: Resonance-independent identity with the stereocentres the positions fix (see
    #: :func:`.smiles.skeleton`): copies share it, enantiomers do not.
    skeleton: str
    #: Canonical SMILES without stereochemistry: enantiomers share it.
    constitution: str = ''
    role: str = 'spacer'

    @property
    def charge(self) -> int:
        return self.bonding.charge

    @property
    def formula(self) -> str:
        return _hill_formula(self.symbols)


@dataclasses.dataclass
class UniqueMolecule:
    """A unique organic molecule and every copy of it in the cell.

    ``role`` is ``spacer`` (a cation between the slabs), ``a_site`` (a cation in a
    slab's cages) or ``guest`` (a neutral molecule: lattice water, a solvent, a zwitterion).
    """

    smiles: str
    charge: int
    role: str
    formula: str
    copies: list[Molecule]
    fragments: dict[str, int]
    #: The SMILES without stereochemistry (the same for both enantiomers).
    constitution: str = ''

    @property
    def count(self) -> int:
        return len(self.copies)

    @property
    def template(self) -> Molecule:
        """The copy that is parametrised; every copy maps onto its atom order."""
        return self.copies[0]

    def copy_indices(self) -> list[list[int]]:
        """Site indices of every copy, each listed in the template's atom order."""
        template = self.template
        return [template.indices] + [
            [copy.indices[k] for k in match_copy(template.symbols, template.edges, copy.symbols, copy.edges)]
            for copy in self.copies[1:]
        ]

    def as_dict(self) -> dict:
        template = self.template
        return {
            'smiles': self.smiles,
            'constitution': self.constitution,
            'charge': self.charge,
            'count': self.count,
            'formula': self.formula,
            'role': self.role,
            'n_atoms': len(template.symbols),
            'fragments': self.fragments,
            # Enough to rebuild and parametrise the molecule: elements, bonds with orders and
            # formal charges in the template's order, and each copy's sites in that same order.
            'symbols': template.symbols,
            'bonds': [[i, j, order] for (i, j), order in sorted(template.bonding.orders.items())],
            'formal_charges': template.bonding.charges,
            'copies': self.copy_indices(),
        }


@dataclasses.dataclass
class Slab:
    """One inorganic slab (a 2D metal-halide network) and its geometry along the stacking normal."""

    indices: list[int]
    n_layers: int
    centre: float
    metal_bottom: float
    metal_top: float
    face_bottom: float
    face_top: float


@dataclasses.dataclass
class Decomposition:
    """Everything the decomposition learned about one structure."""

    structure: Structure
    unwrapped: Structure
    molecules: list[Molecule]
    unique_molecules: list[UniqueMolecule]
    inorganic_indices: list[int]
    oxidation_states: dict[str, int]
    miller_index: tuple[int, int, int]
    stacking_period: float
    slabs: list[Slab]
    interlayer_distance: float
    source: str | None = None
    #: Things a careful reader should know (unusual contacts and the choices made about them).
    notes: list[str] = dataclasses.field(default_factory=list)

    @property
    def spacers(self) -> list[UniqueMolecule]:
        return [molecule for molecule in self.unique_molecules if molecule.role == 'spacer']

    @property
    def a_site_molecules(self) -> list[UniqueMolecule]:
        return [molecule for molecule in self.unique_molecules if molecule.role == 'a_site']

    @property
    def guests(self) -> list[UniqueMolecule]:
        """Neutral molecules (lattice water, solvents, zwitterions): parametrised and simulated like the rest."""
        return [molecule for molecule in self.unique_molecules if molecule.role == 'guest']

    @property
    def stacking_normal(self) -> np.ndarray:
        """Unit vector (Cartesian) normal to the layers: the axis along which slab heights are measured."""
        return _stacking_normal(self.structure.lattice, self.miller_index)[1]

    @property
    def stacking_axis(self) -> str:
        """``a``, ``b`` or ``c`` when the layers contain the other two lattice vectors, else ``(h k l)``."""
        return _axis_name(self.miller_index)

    @property
    def n_layers(self) -> int:
        return Counter(slab.n_layers for slab in self.slabs).most_common(1)[0][0]

    @property
    def formula(self) -> str:
        return self.structure.composition.reduced_composition.hill_formula.replace(' ', '')

    @property
    def reading(self) -> dict:
        """What the CIF reader changed or noticed: its ``declared_formula``, ``occupancy``, ``disorder`` and
        ``hydrogens`` records, kept in the structure's ``properties``
        (:func:`aiida_perovskite.structure.cif.read_cif`); empty for a CIF read as it is."""
        return {key: self.structure.properties[key] for key in READER_CHANGES if self.structure.properties.get(key)}

    def as_dict(self) -> dict:
        """A JSON-serialisable record (plain Python types only)."""
        lattice = self.structure.lattice
        return {
            'file': self.source,
            'formula': self.formula,
            'n_sites': len(self.structure),
            'lattice': {
                'a': lattice.a, 'b': lattice.b, 'c': lattice.c,
                'alpha': lattice.alpha, 'beta': lattice.beta, 'gamma': lattice.gamma,
                'volume': lattice.volume,
            },
            'spacers': [molecule.as_dict() for molecule in self.spacers],
            'a_site_molecules': [molecule.as_dict() for molecule in self.a_site_molecules],
            'guests': [molecule.as_dict() for molecule in self.guests],
            'inorganic_indices': self.inorganic_indices,
            'oxidation_states': self.oxidation_states,
            'stacking_axis': self.stacking_axis,
            'miller_index': list(self.miller_index),
            'stacking_period': self.stacking_period,
            'n_slabs': len(self.slabs),
            'n_layers': self.n_layers,
            'interlayer_distance': self.interlayer_distance,
            'slabs': [
                {'indices': slab.indices, 'n_layers': slab.n_layers,
                 'thickness': slab.face_top - slab.face_bottom}
                for slab in self.slabs
            ],
            'notes': self.notes,
            **self.reading,
        }


def inspect_cif(path: str | pathlib.Path, disorder: str = 'refuse', hydrogens: str = 'require', **kwargs) -> Decomposition:
    """Read, validate and decompose the CIF at ``path``; errors name the file.

    :param disorder: ``refuse`` or ``major``, and
    :param hydrogens: ``require`` or ``add`` (:func:`aiida_perovskite.structure.cif.read_cif`); what the reader
        changed is the decomposition's ``reading`` and the first of its notes.
    """
    name = str(path)
    try:
        return decompose(read_cif(path, disorder=disorder, hydrogens=hydrogens), name=name, **kwargs)
    except StructureError as error:
        error.with_path(name)
        raise


def reading_notes(changes: dict) -> list[str]:
    """One line for each change the CIF reader made (near-full sites read as full, a disorder resolved, hydrogens
    added), from a mapping that holds its records: a structure's ``properties``, a decomposition's ``reading`` or
    its record (``as_dict``)."""
    from . import cif, disorder, hydrogens

    summaries = {'declared_formula': cif.formula_summary, 'occupancy': cif.occupancy_summary,
                 'disorder': disorder.summary, 'hydrogens': hydrogens.summary}
    return [summaries[key](changes[key]) for key in READER_CHANGES if changes.get(key)]


def decompose(
    structure: Structure,
    name: str | None = None,
    tolerance: float = 0.4,
    framework_tolerance: float = 1.75,
    min_distance_factor: float = 0.6,
    supported_elements=SUPPORTED_ELEMENTS,
) -> Decomposition:
    """Decompose an ordered ``structure``; see the module docstring for the steps.

    :param name: the source (file name) used in error messages and the record.
    :param tolerance: bond tolerance added to the sum of covalent radii (Angstrom).
    :param framework_tolerance: the same for metal-halide bonds (see :func:`.graph.bond_graph`).
    :param min_distance_factor: atoms closer than this fraction of their radii sum are an error.
    """
    try:
        check_elements(structure, name, supported_elements)
        graph = bond_graph(
            structure,
            tolerance=tolerance,
            framework_tolerance=framework_tolerance,
            min_distance_factor=min_distance_factor,
            name=name,
        )
        notes = reading_notes(structure.properties)
        organic, inorganic = classify_atoms(graph, structure, notes)
        molecules = _molecules(structure, graph, organic)
        oxidation_states = _balance_charge(graph.symbols, molecules, inorganic)
        miller, slab_components = _inorganic_layers(structure, graph, inorganic)
        period, normal = _stacking_normal(structure.lattice, miller)
        slabs = [_slab_geometry(structure, graph, component, normal) for component in slab_components]
        slabs.sort(key=lambda slab: slab.centre)
        _assign_roles(molecules, slabs, normal, period)
    except StructureError as error:
        error.with_path(name)
        raise

    return Decomposition(
        structure=structure,
        unwrapped=_unwrapped_structure(structure, molecules),
        molecules=molecules,
        unique_molecules=_unique_molecules(molecules),
        inorganic_indices=sorted(inorganic),
        oxidation_states=oxidation_states,
        miller_index=miller,
        stacking_period=period,
        slabs=slabs,
        interlayer_distance=_interlayer_distance(slabs, period),
        source=name,
        notes=notes,
    )


def match_copy(template_symbols: list[str], template_edges, copy_symbols: list[str], copy_edges) -> list[int]:
    """For each template atom, the index of the matching atom of a copy (graph isomorphism on elements).

    :raises BondingError: the copy is not the same molecule.
    """
    import networkx as nx

    def graph(symbols, edges):
        g = nx.Graph()
        g.add_nodes_from((index, {'element': symbol}) for index, symbol in enumerate(symbols))
        g.add_edges_from(edges)
        return g

    matcher = nx.algorithms.isomorphism.GraphMatcher(
        graph(template_symbols, template_edges),
        graph(copy_symbols, copy_edges),
        node_match=lambda a, b: a['element'] == b['element'],
    )
    mapping = next(matcher.isomorphisms_iter(), None)
    if mapping is None:
        raise BondingError('two molecules with the same identity key have different bond graphs')
    return [mapping[index] for index in range(len(template_symbols))]


def classify_atoms(graph: BondGraph, structure: Structure, notes: list[str]) -> tuple[list[int], list[int]]:
    """Organic atoms vs inorganic ones (metals, A-site cations, framework halides).

    A halogen is part of a molecule when it is covalently bonded to an organic
    atom (C, N, O, S, ...) and not bonded to a metal within the covalent
    tolerance; otherwise it is a framework (or free) halide.
    """
    organic_core = ORGANIC_ELEMENTS - HALOGENS - {'H'}
    organic, inorganic = [], []
    for index, symbol in enumerate(graph.symbols):
        if symbol in HALOGENS:
            partners = [(j, image) for j, image in graph.neighbours[index] if graph.symbols[j] in organic_core]
            metals = [(j, image) for j, image in graph.neighbours[index] if graph.symbols[j] in METAL_OXIDATION_STATES]
            strongly_bound = any(graph.distances[(index, j, image)] < graph.bond_limit(index, j) for j, image in metals)
            if partners and not strongly_bound:
                organic.append(index)
                if metals:
                    partner, image = partners[0]
                    metal, metal_image = metals[0]
                    notes.append(
                        f'{_site_label(structure, index)} is {graph.distances[(index, partner, image)]:.2f} A from '
                        f'{_site_label(structure, partner)} and {graph.distances[(index, metal, metal_image)]:.2f} A '
                        f'from {_site_label(structure, metal)}: taken as part of a molecule'
                    )
            else:
                inorganic.append(index)
        elif symbol in ORGANIC_ELEMENTS:
            organic.append(index)
        else:
            inorganic.append(index)
    return organic, inorganic


def _molecules(structure: Structure, graph: BondGraph, organic: list[int]) -> list[Molecule]:
    """Whole organic molecules with bond orders, charges and canonical SMILES."""
    symbols = graph.symbols
    organic_set = set(organic)
    molecules = []
    for component in periodic_components(graph, organic):
        if component.dimension:
            formula = _hill_formula([symbols[i] for i in component.members])
            raise BondingError(
                f'organic atoms ({formula}, {len(component.members)} atoms from site {component.members[0]}) '
                f'are bonded into an infinite {component.dimension}D network across the cell; bond tolerance '
                'too large or atoms misplaced?'
            )
        local = {index: position for position, index in enumerate(component.members)}
        edges = sorted({
            tuple(sorted((local[i], local[j])))
            for i in component.members
            for j, _ in graph.neighbours[i]
            if j in organic_set
        })
        labels = [_site_label(structure, i) for i in component.members]
        member_symbols = [symbols[i] for i in component.members]
        fractional = np.array([structure[i].frac_coords + component.images[i] for i in component.members])
        cartesian = structure.lattice.get_cartesian_coords(fractional)
        _, priority = skeleton(member_symbols, edges)
        key, _ = skeleton(member_symbols, edges, cartesian)
        bonding = assign_bond_orders(member_symbols, edges, labels, priority)
        molecules.append(
            Molecule(
                indices=list(component.members),
                symbols=member_symbols,
                cartesian=cartesian,
                edges=edges,
                bonding=bonding,
                smiles=canonical_smiles(member_symbols, bonding.orders, bonding.charges, cartesian),
                skeleton=key,
                constitution=canonical_smiles(member_symbols, bonding.orders, bonding.charges),
            )
        )
    return molecules


def _balance_charge(symbols: list[str], molecules: list[Molecule], inorganic: list[int]) -> dict[str, int]:
    """Oxidation states of the metals that make the cell neutral (first match in preference order)."""
    counts = Counter(symbols[i] for i in inorganic)
    organic_charge = sum(molecule.charge for molecule in molecules)
    fixed = organic_charge + sum(counts[element] * charge for element, charge in A_SITE_CATIONS.items())
    fixed -= sum(counts[element] for element in HALOGENS)
    metals = sorted(element for element in counts if element in METAL_OXIDATION_STATES)
    for states in itertools.product(*(METAL_OXIDATION_STATES[element] for element in metals)):
        if fixed + sum(counts[element] * state for element, state in zip(metals, states)) == 0:
            return dict(zip(metals, states))

    assumed = {element: METAL_OXIDATION_STATES[element][0] for element in metals}
    total = fixed + sum(counts[element] * state for element, state in assumed.items())
    by_molecule = Counter((molecule.smiles, molecule.charge) for molecule in molecules)
    parts = [f'{count} x {smiles} ({charge:+d})' for (smiles, charge), count in sorted(by_molecule.items())]
    parts += [f'{counts[element]} {element} ({state:+d})' for element, state in assumed.items()]
    parts += [f'{counts[element]} {element} ({A_SITE_CATIONS[element]:+d})' for element in A_SITE_CATIONS
              if counts[element]]
    parts += [f'{counts[element]} {element} (-1)' for element in sorted(HALOGENS) if counts[element]]
    hint = ''
    if total < 0 and any(s == 'N' for molecule in molecules for s in molecule.symbols):
        hint = '; an amine may be missing the hydrogen that makes it an ammonium cation'
    raise ChargeImbalanceError(f'the cell carries a net charge of {total:+d} e: {", ".join(parts)}{hint}')


def _inorganic_layers(
    structure: Structure, graph: BondGraph, inorganic: list[int]
) -> tuple[tuple[int, int, int], list[PeriodicComponent]]:
    """The Miller plane of the inorganic layers and the 2D metal-halide components (slabs)."""
    symbols = graph.symbols
    framework = [i for i in inorganic if symbols[i] in METAL_OXIDATION_STATES or symbols[i] in HALOGENS]
    if not any(symbols[i] in METAL_OXIDATION_STATES for i in framework):
        raise NotLayeredError('no metal atoms: there is no inorganic framework to form layers')

    def metal_halide(i: int, j: int) -> bool:
        return (symbols[i] in HALOGENS) != (symbols[j] in HALOGENS)

    components = [
        component for component in periodic_components(graph, framework, metal_halide)
        if any(symbols[i] in METAL_OXIDATION_STATES for i in component.members)
    ]
    dimensions = sorted({component.dimension for component in components})
    if 3 in dimensions:
        raise NotLayeredError(
            'the metal-halide framework is connected in three dimensions (a 3D perovskite-like network), '
            'not layered'
        )
    slabs = [component for component in components if component.dimension == 2]
    if not slabs:
        kind = {0: 'isolated clusters or octahedra (0D)', 1: 'chains (1D)'}[max(dimensions)]
        raise NotLayeredError(f'no inorganic layer found: the metal-halide framework forms {kind}')
    planes = {component.miller_index() for component in slabs}
    if len(planes) > 1:
        raise NotLayeredError(
            f'inorganic layers with different orientations {sorted(planes)}: not a layered perovskite'
        )
    return planes.pop(), slabs


def _stacking_normal(lattice: Lattice, miller: tuple[int, int, int]) -> tuple[float, np.ndarray]:
    """Spacing of the ``miller`` planes and their unit normal (Cartesian)."""
    reciprocal = np.array(miller, dtype=float) @ lattice.reciprocal_lattice_crystallographic.matrix
    length = np.linalg.norm(reciprocal)
    return float(1.0 / length), reciprocal / length


def _slab_geometry(structure: Structure, graph: BondGraph, component: PeriodicComponent, normal) -> Slab:
    """Metal planes, centre and outer halide faces of one slab, as heights along ``normal``."""
    heights = {
        i: float(structure.lattice.get_cartesian_coords(structure[i].frac_coords + component.images[i]) @ normal)
        for i in component.members
    }
    metals = sorted(heights[i] for i in component.members if graph.symbols[i] in METAL_OXIDATION_STATES)
    planes = [[metals[0]]]
    for height in metals[1:]:
        if height - planes[-1][-1] > PLANE_GAP:
            planes.append([])
        planes[-1].append(height)
    plane_heights = [float(np.mean(plane)) for plane in planes]
    bottom, top = plane_heights[0], plane_heights[-1]
    halides = [heights[i] for i in component.members if graph.symbols[i] in HALOGENS]
    above = [h for h in halides if h > top + 1.0]
    below = [h for h in halides if h < bottom - 1.0]
    return Slab(
        indices=list(component.members),
        n_layers=len(planes),
        centre=(bottom + top) / 2,
        metal_bottom=bottom,
        metal_top=top,
        face_bottom=float(np.mean(below)) if below else bottom,
        face_top=float(np.mean(above)) if above else top,
    )


def _interlayer_distance(slabs: list[Slab], period: float) -> float:
    """Mean perpendicular gap between the outer halide faces of adjacent slabs."""
    # Bring every slab into one stacking period, then walk up the stack.
    offsets = sorted(((slab.centre % period), slab) for slab in slabs)
    gaps = []
    for position, (centre, slab) in enumerate(offsets):
        next_centre, next_slab = offsets[(position + 1) % len(offsets)]
        if position + 1 == len(offsets):
            next_centre += period
        top = centre + (slab.face_top - slab.centre)
        bottom = next_centre + (next_slab.face_bottom - next_slab.centre)
        gaps.append(bottom - top)
    return float(np.mean(gaps))


def _assign_roles(molecules: list[Molecule], slabs: list[Slab], normal, period: float) -> None:
    """Neutral molecules are guests; cations inside a slab (between its outer metal planes) are A-site
    cations; the rest are spacers."""
    for molecule in molecules:
        if molecule.charge == 0:
            molecule.role = 'guest'
            continue
        height = float(molecule.cartesian.mean(axis=0) @ normal)
        for slab in slabs:
            if slab.n_layers < 2:
                continue
            relative = (height - slab.centre + period / 2) % period - period / 2
            half = (slab.metal_top - slab.metal_bottom) / 2
            if abs(relative) < half:
                molecule.role = 'a_site'
                break


def _unique_molecules(molecules: list[Molecule]) -> list[UniqueMolecule]:
    groups: dict[tuple[str, str], list[Molecule]] = {}
    for molecule in molecules:
        groups.setdefault((molecule.role, molecule.skeleton), []).append(molecule)
    unique = []
    order = {'spacer': 0, 'a_site': 1, 'guest': 2}
    for (role, _), copies in sorted(groups.items(), key=lambda item: (order[item[0][0]], item[1][0].smiles)):
        first = copies[0]
        unique.append(
            UniqueMolecule(
                smiles=first.smiles,
                charge=first.charge,
                role=role,
                formula=first.formula,
                copies=copies,
                fragments=fragment_counts(first.symbols, first.edges),
                constitution=first.constitution,
            )
        )
    return unique


def _unwrapped_structure(structure: Structure, molecules: list[Molecule]) -> Structure:
    """The same crystal with every molecule whole; each molecule's centroid lies in the home cell."""
    fractional = structure.frac_coords.copy()
    for molecule in molecules:
        coords = structure.lattice.get_fractional_coords(molecule.cartesian)
        coords -= np.floor(coords.mean(axis=0))
        fractional[molecule.indices] = coords
    return Structure(
        structure.lattice,
        [site.species for site in structure],
        fractional,
        labels=[site.label for site in structure],
        to_unit_cell=False,
    )


def _axis_name(miller: tuple[int, int, int]) -> str:
    for axis, unit in zip('abc', ((1, 0, 0), (0, 1, 0), (0, 0, 1))):
        if tuple(abs(value) for value in miller) == unit:
            return axis
    return '({} {} {})'.format(*miller)


def _hill_formula(symbols: list[str]) -> str:
    counts = Counter(symbols)
    if 'C' in counts:
        order = ['C', 'H'] + sorted(element for element in counts if element not in ('C', 'H'))
    else:
        order = sorted(counts)
    return ''.join(f'{e}{counts[e] if counts[e] > 1 else ""}' for e in order if e in counts)


def _site_label(structure: Structure, index: int) -> str:
    site = structure[index]
    label = site.label
    return f'{label} (site {index})' if label and label != site.species_string else f'{site.specie.symbol}{index}'
