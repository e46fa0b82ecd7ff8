"""Add the hydrogen atoms an experimental CIF leaves out: riding positions from the heavy-atom geometry.

X-ray structures often give no position for the ammonium hydrogens (or for none at all), and the
decomposition needs every hydrogen to know the spacers' bonding and charge. With the policy ``add``,
each organic molecule gets its missing hydrogens from OpenBabel (valences alone cannot tell: stripped
of its hydrogens, butane-1,4-diammonium is a closed-shell dinitrile to a bond-order assignment): bond orders perceived from the geometry of the heavy atoms
(``OBMol.PerceiveBondOrders``), typical valences, and hydrogen positions from the hybridisation
(``OBMol.AddHydrogens``), keeping the hydrogens the CIF does give. As the spacers of a halide
perovskite are ammonium cations, every basic amine is protonated first, by the rule the builder
protonates a SMILES with (:func:`is_basic_amine`: an sp3 nitrogen bonded only to saturated,
non-aromatic carbons and hydrogens; an amide, amidine, aniline or aromatic nitrogen stays neutral).
The result is then checked like any CIF: the charge balance of the decomposition, and the CIF's
``_chemical_formula_sum`` when it states one, so a wrong protonation is refused, not simulated.

The positions are riding ones (no hydrogen bonds are sought: the orientation of an NH3+ group is
OpenBabel's), which a minimisation or MD relaxes; the record says which molecules were completed.
Plain Python on OpenBabel; :func:`aiida_perovskite.structure.cif.read_cif_text` applies it.
"""

from __future__ import annotations

from collections import Counter

import numpy as np
from pymatgen.core import Composition, Structure

from .babel import bindings

__all__ = ('HYDROGEN_POLICIES', 'add_missing_hydrogens', 'is_basic_amine', 'protonate_amines', 'summary')

#: ``require``: a CIF with hydrogens missing is an error (the default); ``add``: add them at riding positions.
HYDROGEN_POLICIES = ('require', 'add')


def add_missing_hydrogens(structure: Structure, name: str | None = None) -> tuple[Structure, dict | None]:
    """``structure`` with the missing hydrogens of its organic molecules added, and the record of what was
    added; ``(structure, None)`` when every molecule is already complete.

    The record: ``added`` (hydrogens in all), ``molecules`` (per completed molecule: a site label, its
    formula before and the SMILES after).

    A molecule OpenBabel cannot complete stays as it is, and the decomposition reports it.
    """
    from .decompose import classify_atoms
    from .graph import bond_graph, periodic_components

    graph = bond_graph(structure, name=name)
    organic, _ = classify_atoms(graph, structure, [])
    organic_set = set(organic)
    added: list[np.ndarray] = []
    record = {'added': 0, 'molecules': []}
    for component in periodic_components(graph, organic):
        if component.dimension:
            continue  # an infinite organic network: the decomposition names it
        members = component.members
        local = {index: position for position, index in enumerate(members)}
        edges = sorted({tuple(sorted((local[i], local[j]))) for i in members for j, _ in graph.neighbours[i]
                        if j in organic_set})
        symbols = [graph.symbols[i] for i in members]
        fractional = np.array([structure[i].frac_coords + component.images[i] for i in members])
        cartesian = structure.lattice.get_cartesian_coords(fractional)
        positions, smiles = _complete(symbols, cartesian, edges)
        if not len(positions):
            continue  # complete as given
        label = structure[members[0]].label or f'{symbols[0]}{members[0]}'
        added.extend(positions)
        record['molecules'].append({'site': label, 'formula': Composition(Counter(symbols)).hill_formula.replace(' ', ''), 'smiles': smiles,
                                    'added': len(positions)})
    if not added:
        return structure, None
    completed = structure.copy()
    for position in added:
        completed.append('H', position, coords_are_cartesian=True)
    record['added'] = len(added)
    return completed, record


def summary(record: dict) -> str:
    """One line saying what :func:`add_missing_hydrogens` added."""
    kinds = Counter(molecule['smiles'] for molecule in record['molecules'])
    listed = ', '.join(f'{smiles} x{count}' for smiles, count in kinds.items())
    return (f'hydrogens added at riding positions: {record["added"]} H to {len(record["molecules"])} '
            f'molecule(s) ({listed})')


def _complete(symbols: list[str], cartesian: np.ndarray, edges) -> tuple[np.ndarray, str]:
    """The positions of the hydrogens OpenBabel adds to one molecule (amines protonated) and its SMILES."""
    ob = bindings()

    ob.obErrorLog.SetOutputLevel(0)
    molecule = ob.OBMol()
    molecule.BeginModify()
    for symbol, (x, y, z) in zip(symbols, cartesian):
        atom = molecule.NewAtom()
        atom.SetAtomicNum(ob.GetAtomicNum(symbol))
        atom.SetVector(float(x), float(y), float(z))
    for i, j in edges:
        molecule.AddBond(i + 1, j + 1, 1)
    molecule.EndModify()
    molecule.PerceiveBondOrders()
    for atom in ob.OBMolAtomIter(molecule):
        ob.OBAtomAssignTypicalImplicitHydrogens(atom)
    protonate_amines(molecule)
    before = molecule.NumAtoms()
    molecule.AddHydrogens()
    positions = np.array([[atom.GetX(), atom.GetY(), atom.GetZ()]
                          for atom in ob.OBMolAtomIter(molecule) if atom.GetIdx() > before])
    conversion = ob.OBConversion()
    conversion.SetOutFormat('can')
    return positions.reshape(-1, 3), conversion.WriteString(molecule).split()[0]


def protonate_amines(molecule) -> list[int]:
    """Make every basic amine of an OpenBabel molecule (:func:`is_basic_amine`) an ammonium: charge +1 and one
    more implicit hydrogen. Returns the (0-based) indices of the nitrogens protonated."""
    openbabel = bindings()

    protonated = []
    for atom in openbabel.OBMolAtomIter(molecule):
        if is_basic_amine(atom):
            atom.SetFormalCharge(1)
            atom.SetImplicitHCount(atom.GetImplicitHCount() + 1)
            protonated.append(atom.GetIdx() - 1)
    return protonated


def is_basic_amine(atom) -> bool:
    """An uncharged sp3 amine N of an OpenBabel molecule whose heavy neighbours are all saturated, non-aromatic
    carbons (its hydrogens explicit or implicit): the nitrogens a spacer carries as ammonium. The builder
    protonates a SMILES by the same rule."""
    openbabel = bindings()

    if atom.GetAtomicNum() != 7 or atom.GetFormalCharge() != 0 or atom.IsAromatic():
        return False
    if atom.GetExplicitValence() != atom.GetExplicitDegree():  # a double or triple bond: imine, nitrile...
        return False
    for neighbour in openbabel.OBAtomAtomIter(atom):
        if neighbour.GetAtomicNum() == 1:
            continue
        if neighbour.GetAtomicNum() != 6 or neighbour.IsAromatic():
            return False  # N-N, N-O, N-S, aniline
        if neighbour.GetExplicitValence() != neighbour.GetExplicitDegree():
            return False  # amide, amidine, enamine: the carbon has a multiple bond
    return atom.GetExplicitDegree() + atom.GetImplicitHCount() == 3
