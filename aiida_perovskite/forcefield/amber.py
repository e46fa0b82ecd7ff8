"""Files for the AmberTools steps: antechamber input, the cell's PDB of all copies, the tleap script.

Each unique molecule is parametrised once: its template copy (in our atom
order, with our names, bond orders and formal charges) goes to antechamber.
The decomposition lists every copy's sites in the template's order, so tleap
builds the whole organic part of the cell from one residue template per
molecule with each copy's own coordinates.
"""

from __future__ import annotations

from collections import Counter

import numpy as np

__all__ = (
    'atom_names',
    'cell_pdb',
    'read_mol2_charges',
    'renormalise_mol2_charges',
    'residue_name',
    'spacer_mol2',
    'tleap_script',
)

_MOL2_BOND = {1: '1', 2: '2', 3: '3'}


def residue_name(index: int) -> str:
    """Three-character residue name of the ``index``-th unique spacer (``S01``, ``S02``, ...)."""
    return f'S{index + 1:02d}'


def atom_names(symbols: list[str]) -> list[str]:
    """Unique atom names: element plus a running number per element (``C1``, ``C2``, ``H1``...)."""
    counts: Counter[str] = Counter()
    names = []
    for symbol in symbols:
        counts[symbol] += 1
        names.append(f'{symbol}{counts[symbol]}')
    if any(len(name) > 4 for name in names):
        raise ValueError('a spacer with more than 999 atoms of one element cannot be named for PDB/tleap')
    return names


def spacer_mol2(
    symbols: list[str],
    cartesian: np.ndarray,
    orders: dict[tuple[int, int], int],
    charges: list[int],
    resname: str,
) -> str:
    """A Tripos mol2 of one spacer for antechamber: our atom names, bond orders and formal charges."""
    names = atom_names(symbols)
    lines = [
        '@<TRIPOS>MOLECULE', resname, f'{len(symbols)} {len(orders)} 1 0 0', 'SMALL', 'USER_CHARGES', '',
        '@<TRIPOS>ATOM',
    ]
    for index, (symbol, name, xyz, charge) in enumerate(zip(symbols, names, cartesian, charges), start=1):
        lines.append(
            f'{index:7d} {name:<4s} {xyz[0]:12.6f} {xyz[1]:12.6f} {xyz[2]:12.6f} {symbol:<5s} 1 {resname} {charge:9.6f}'
        )
    lines.append('@<TRIPOS>BOND')
    for index, ((i, j), order) in enumerate(sorted(orders.items()), start=1):
        lines.append(f'{index:6d} {i + 1:5d} {j + 1:5d} {_MOL2_BOND[order]}')
    lines += ['@<TRIPOS>SUBSTRUCTURE', f'     1 {resname}         1 RESIDUE', '']
    return '\n'.join(lines)


def read_mol2_charges(text: str) -> list[float]:
    """Partial charges (last column of the ATOM records) of a mol2 file."""
    charges, inside = [], False
    for line in text.splitlines():
        if line.startswith('@<TRIPOS>'):
            inside = line.strip() == '@<TRIPOS>ATOM'
            continue
        if inside and line.strip():
            charges.append(float(line.split()[8]))
    return charges


def renormalise_mol2_charges(text: str, total: int) -> str:
    """The mol2 with charges shifted evenly so they sum to the integer ``total`` (AM1-BCC gives e.g. 0.999).

    Charges are rewritten with ten decimals so the cell stays neutral to well below 1e-6 e.
    """
    charges = read_mol2_charges(text)
    shift = (total - sum(charges)) / len(charges)
    lines, inside, index = [], False, 0
    for line in text.splitlines():
        if line.startswith('@<TRIPOS>'):
            inside = line.strip() == '@<TRIPOS>ATOM'
        elif inside and line.strip():
            fields = line.split()
            fields[8] = f'{charges[index] + shift:.10f}'
            line = ' '.join(fields)
            index += 1
        lines.append(line)
    return '\n'.join(lines) + '\n'


def cell_pdb(residues: list[tuple[str, list[str], list[str], np.ndarray]]) -> str:
    """A PDB with one residue per molecule copy: ``(resname, atom names, elements, coordinates)``.

    Coordinates are Cartesian (Angstrom) with each molecule whole; ``TER`` after each
    residue keeps tleap from bonding consecutive residues.
    """
    lines, serial = [], 0
    for number, (resname, names, elements, coordinates) in enumerate(residues, start=1):
        if number > 9999:
            raise ValueError('more than 9999 molecules do not fit a PDB file')
        for name, element, xyz in zip(names, elements, coordinates):
            serial += 1
            padded = f' {name:<3s}' if len(name) < 4 else name
            lines.append(
                f'HETATM{serial % 100000:5d} {padded:4s} {resname:3s}  {number:4d}    '
                f'{xyz[0]:8.3f}{xyz[1]:8.3f}{xyz[2]:8.3f}  1.00  0.00          {element:>2s}'
            )
        lines.append('TER')
    lines.append('END')
    return '\n'.join(lines) + '\n'


def tleap_script(units: list[tuple[str, str, str]], pdb: str, atom_types: str = 'gaff', output: str = 'cell') -> str:
    """The tleap input: GAFF, each spacer's frcmod and mol2 unit, the cell PDB, then prmtop/inpcrd.

    :param units: ``(resname, mol2 file, frcmod file)`` per unique spacer.
    """
    if atom_types not in ('gaff', 'gaff2'):
        raise ValueError(f'atom types must be gaff or gaff2, not {atom_types!r}')
    lines = [f'source leaprc.{atom_types}']
    for resname, mol2, frcmod in units:
        lines += [f'loadamberparams {frcmod}', f'{resname} = loadmol2 {mol2}']
    lines += [f'cell = loadpdb {pdb}', 'check cell', f'saveamberparm cell {output}.prmtop {output}.inpcrd', 'quit']
    return '\n'.join(lines) + '\n'
