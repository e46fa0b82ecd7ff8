"""Canonical SMILES through OpenBabel, from a molecule we built ourselves.

OpenBabel does not put the +1 on a four-bonded nitrogen when it reads
coordinates, so the molecule is handed over with the bond orders and formal
charges from :mod:`.bonding` instead of letting OpenBabel perceive them.
"""

from __future__ import annotations

__all__ = ('canonical_smiles', 'canonicalise', 'openbabel_conversion', 'skeleton', 'skeleton_of_smiles')


def openbabel_conversion(in_format: str | None = None):
    """An OpenBabel conversion writing canonical SMILES, reading ``in_format`` when given (warnings silenced)."""
    from openbabel import openbabel

    openbabel.obErrorLog.SetOutputLevel(0)  # silence warnings printed to stderr
    conversion = openbabel.OBConversion()
    if in_format:
        conversion.SetInFormat(in_format)
    conversion.SetOutFormat('can')
    conversion.AddOption('i', conversion.OUTOPTIONS)  # no stereo: a spacer is one species whatever its handedness
    return conversion


def _molecule(symbols, orders: dict[tuple[int, int], int], charges):
    from openbabel import openbabel

    molecule = openbabel.OBMol()
    for symbol, charge in zip(symbols, charges):
        atom = molecule.NewAtom()
        atom.SetAtomicNum(openbabel.GetAtomicNum(symbol))
        atom.SetFormalCharge(int(charge))
    for (i, j), order in orders.items():
        molecule.AddBond(i + 1, j + 1, order)
    return molecule


def canonical_smiles(symbols: list[str], orders: dict[tuple[int, int], int], charges: list[int]) -> str:
    """Canonical SMILES (no stereochemistry) of a molecule given atoms, bond orders and charges."""
    return openbabel_conversion().WriteString(_molecule(symbols, orders, charges)).split()[0]


def skeleton(symbols: list[str], edges: list[tuple[int, int]]) -> tuple[str, list[int]]:
    """A resonance-independent identity of a molecule and a canonical rank of its atoms.

    The key is the canonical SMILES of the bare connectivity (explicit
    hydrogens, every bond single, no charges): two molecules with the same
    atoms bonded the same way share it whichever Kekule structure or charge
    placement is written for them. The rank orders heavy atoms as the
    canonical SMILES writes them, each hydrogen after the heavy atoms.
    """
    molecule = _molecule(symbols, {tuple(edge): 1 for edge in edges}, [0] * len(symbols))
    conversion = openbabel_conversion()
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


def canonicalise(smiles: str) -> str:
    """The canonical form of any SMILES string, from the same toolkit as :func:`canonical_smiles`."""
    from openbabel import openbabel

    conversion = openbabel_conversion('smi')
    molecule = openbabel.OBMol()
    if not conversion.ReadString(molecule, smiles):
        raise ValueError(f'invalid SMILES: {smiles!r}')
    written = conversion.WriteString(molecule).split()
    if not written:
        raise ValueError(f'invalid SMILES: {smiles!r}')
    return written[0]


def skeleton_of_smiles(smiles: str) -> str:
    """The resonance-independent identity (see :func:`skeleton`) of a molecule given as SMILES."""
    from openbabel import openbabel

    molecule = openbabel.OBMol()
    if not openbabel_conversion('smi').ReadString(molecule, smiles):
        raise ValueError(f'invalid SMILES: {smiles!r}')
    molecule.AddHydrogens()
    symbols = [openbabel.GetSymbol(atom.GetAtomicNum()) for atom in openbabel.OBMolAtomIter(molecule)]
    edges = [(bond.GetBeginAtomIdx() - 1, bond.GetEndAtomIdx() - 1) for bond in openbabel.OBMolBondIter(molecule)]
    return skeleton(symbols, edges)[0]
