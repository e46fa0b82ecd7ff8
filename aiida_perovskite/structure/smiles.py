"""Canonical SMILES through OpenBabel, from a molecule we built ourselves.

OpenBabel does not put the +1 on a four-bonded nitrogen when it reads
coordinates, so the molecule is handed over with the bond orders and formal
charges from :mod:`.bonding` instead of letting OpenBabel perceive them.

Stereochemistry comes from the 3D coordinates when they are given: a
stereocentre (``[C@@H]``) or a double bond's cis/trans (``/``, ``\\``) that the
crystal fixes is written into the SMILES, so (R)- and (S)-methylbenzylammonium
are two molecules. Without coordinates (or with ``stereo=False``) the SMILES
carries no stereo: the constitution alone, which is what features and grouping
use when enantiomers count as one chemistry.
"""

from __future__ import annotations

from .babel import bindings

__all__ = ('canonical_smiles', 'canonicalise', 'skeleton', 'skeleton_of_smiles')


def _conversion(in_format: str | None = None, stereo: bool = False):
    openbabel = bindings()

    openbabel.obErrorLog.SetOutputLevel(0)  # silence warnings printed to stderr
    conversion = openbabel.OBConversion()
    if in_format:
        conversion.SetInFormat(in_format)
    conversion.SetOutFormat('can')
    if not stereo:
        conversion.AddOption('i', conversion.OUTOPTIONS)  # the constitution only
    return conversion


def canonical_of(molecule, stereo: bool = False) -> str:
    """Canonical SMILES of an OpenBabel ``OBMol`` (its perceived stereo only when ``stereo``)."""
    return _conversion(stereo=stereo).WriteString(molecule).split()[0]


def _molecule(symbols, orders: dict[tuple[int, int], int], charges, coords=None):
    openbabel = bindings()

    molecule = openbabel.OBMol()
    for index, (symbol, charge) in enumerate(zip(symbols, charges)):
        atom = molecule.NewAtom()
        atom.SetAtomicNum(openbabel.GetAtomicNum(symbol))
        atom.SetFormalCharge(int(charge))
        if coords is not None:
            atom.SetVector(*(float(value) for value in coords[index]))
    for (i, j), order in orders.items():
        molecule.AddBond(i + 1, j + 1, order)
    if coords is not None:
        molecule.SetDimension(3)
        openbabel.StereoFrom3D(molecule)  # stereocentres and cis/trans from the positions
    return molecule


def canonical_smiles(
    symbols: list[str], orders: dict[tuple[int, int], int], charges: list[int], coords=None
) -> str:
    """Canonical SMILES of a molecule given atoms, bond orders and charges.

    :param coords: Cartesian positions (Angstrom, the molecule whole); when given, the
        stereochemistry they fix is written (``[C@@H]``), else none is.
    """
    return canonical_of(_molecule(symbols, orders, charges, coords), stereo=coords is not None)


def skeleton(symbols: list[str], edges: list[tuple[int, int]], coords=None) -> tuple[str, list[int]]:
    """A resonance-independent identity of a molecule and a canonical rank of its atoms.

    The key is the canonical SMILES of the bare connectivity (explicit
    hydrogens, every bond single, no charges): two molecules with the same
    atoms bonded the same way share it whichever Kekule structure or charge
    placement is written for them. The rank orders heavy atoms as the
    canonical SMILES writes them, each hydrogen after the heavy atoms.

    With ``coords`` the key also holds the tetrahedral stereocentres the positions
    fix, so the two enantiomers of one skeleton have different keys.
    """
    molecule = _molecule(symbols, {tuple(edge): 1 for edge in edges}, [0] * len(symbols), coords)
    conversion = _conversion(stereo=coords is not None)
    conversion.AddOption('O', conversion.OUTOPTIONS)  # record the output order of the atoms
    key = conversion.WriteString(molecule).split()[0]
    order = molecule.GetData('SMILES Atom Order')
    heavy = [int(value) - 1 for value in order.GetValue().split()] if order is not None else []
    rank = {index: position for position, index in enumerate(heavy)}
    neighbour = {}
    for i, j in edges:
        neighbour.setdefault(i, j)
        neighbour.setdefault(j, i)
    last = len(heavy)
    priority = [
        rank.get(index, last + len(symbols) * rank.get(neighbour.get(index, index), last) + index)
        for index in range(len(symbols))
    ]
    return key, priority


def canonicalise(smiles: str, stereo: bool = False) -> str:
    """The canonical form of any SMILES string, from the same toolkit as :func:`canonical_smiles`.

    :param stereo: keep the stereochemistry the string writes (else the constitution only).
    """
    openbabel = bindings()

    conversion = _conversion('smi', stereo=stereo)
    molecule = openbabel.OBMol()
    if not conversion.ReadString(molecule, smiles):
        raise ValueError(f'invalid SMILES: {smiles!r}')
    written = conversion.WriteString(molecule).split()
    if not written:
        raise ValueError(f'invalid SMILES: {smiles!r}')
    return written[0]


def skeleton_of_smiles(smiles: str) -> str:
    """The resonance-independent identity (see :func:`skeleton`) of a molecule given as SMILES."""
    openbabel = bindings()

    molecule = openbabel.OBMol()
    if not _conversion('smi').ReadString(molecule, smiles):
        raise ValueError(f'invalid SMILES: {smiles!r}')
    molecule.AddHydrogens()
    symbols = [openbabel.GetSymbol(atom.GetAtomicNum()) for atom in openbabel.OBMolAtomIter(molecule)]
    edges = [(bond.GetBeginAtomIdx() - 1, bond.GetEndAtomIdx() - 1) for bond in openbabel.OBMolBondIter(molecule)]
    return skeleton(symbols, edges)[0]
