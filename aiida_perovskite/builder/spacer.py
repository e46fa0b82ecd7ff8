"""A spacer cation from SMILES: protonation, ammonium heads and an extended 3D conformer (OpenBabel).

Protonation rule: a neutral nitrogen is protonated when it is an sp3 amine
(primary, secondary or tertiary) whose heavy neighbours are all saturated,
non-aromatic carbons; amides, anilines, imines, nitriles, aromatic nitrogen
and anything already charged are left as written (write ``[nH+]`` to have a
pyridinium). An ammonium *head* is a +1 nitrogen carrying at least one
hydrogen (it hydrogen-bonds to the halides); a quaternary ammonium is not a
head.

The conformer is OpenBabel's 3D build, then every rotatable bond on the path
from the first head to the far end (the other head, or the heavy atom
furthest along the bonds) is turned to its extended torsion (anti for sp3-sp3,
perpendicular next to an aromatic ring) and the geometry is relaxed briefly
with MMFF94 under those torsion constraints, so chains come out all-trans.
One exception, taken from crystals: an ammonium-CH2-CH2-aryl head (phenethyl-,
thienylethylammonium...) is gauche at N-C-C-C(aryl), which tilts the ring
and lets neighbouring rings pack in a herringbone; alkyl chains stay anti, as
in (BA)2PbI4.
"""

from __future__ import annotations

import dataclasses
import math
from collections import deque

import numpy as np

from aiida_perovskite.structure.babel import bindings
from aiida_perovskite.structure.hydrogens import protonate_amines

from .errors import BuildError

__all__ = ('GAUCHE', 'Spacer', 'molecule_from_smiles', 'protonate', 'spacer_from_smiles')

#: The N-C-C-C(aryl) torsion of an arylethylammonium head (degrees): gauche, as in (PEA)2PbI4, where
#: the four spacers of the cell have N-C-C-C torsions of 60 to 68 degrees, of either sign
#: (Du et al., Inorg. Chem. 56, 9291 (2017)).
GAUCHE = 65.0


@dataclasses.dataclass
class Spacer:
    """A protonated spacer cation in 3D (Angstrom), hydrogens explicit."""

    #: The SMILES as given.
    input_smiles: str
    #: Canonical SMILES of the protonated cation (the same toolkit as the decomposition).
    smiles: str
    symbols: list[str]
    coords: np.ndarray
    #: Indices of the ammonium-head nitrogens (+1, with N-H), in order along the molecule.
    heads: list[int]
    #: Index of the far end: the second head (diammonium) or the heavy atom furthest from the head.
    tail: int
    charge: int
    #: Nitrogens this builder protonated (indices), for the record.
    protonated: list[int] = dataclasses.field(default_factory=list)

    @property
    def n_heads(self) -> int:
        return len(self.heads)


def _read(smiles: str):
    openbabel = bindings()

    openbabel.obErrorLog.SetOutputLevel(0)
    conversion = openbabel.OBConversion()
    conversion.SetInFormat('smi')
    molecule = openbabel.OBMol()
    text = (smiles or '').strip()
    openbabel.obErrorLog.ClearLog()
    if not text or len(text.split()) != 1 or not conversion.ReadString(molecule, text) or molecule.NumAtoms() == 0:
        raise BuildError(f'invalid SMILES {smiles!r}: OpenBabel cannot read it')
    for message in openbabel.obErrorLog.GetMessagesOfLevel(openbabel.obWarning):
        if 'kekulize' in message or 'Invalid SMILES' in message:
            reason = message.strip().splitlines()[-1].strip()
            raise BuildError(f'invalid SMILES {smiles!r}: {reason}')
    if len(molecule.Separate()) != 1:
        raise BuildError(f'SMILES {smiles!r} holds several molecules: give one spacer (without its counter-ions)')
    return molecule


def protonate(smiles: str) -> tuple[str, list[int]]:
    """The cation of ``smiles``: every basic amine protonated (see the module docstring).

    :returns: the canonical SMILES of the cation and the (0-based) indices of the protonated nitrogens.
    :raises BuildError: the SMILES cannot be read.
    """
    from aiida_perovskite.structure.smiles import canonical_of

    molecule = _read(smiles)
    protonated = protonate_amines(molecule)
    return canonical_of(molecule), protonated


def molecule_from_smiles(smiles: str) -> tuple[list[str], np.ndarray]:
    """Elements and 3D coordinates (Angstrom, hydrogens explicit) of any molecule, taken as written.

    Nothing is protonated: this is how guests (water, solvents, zwitterions) are built.

    :raises BuildError: the SMILES cannot be read or embedded in 3D.
    """
    openbabel = bindings()

    molecule = _read(smiles)
    molecule.AddHydrogens()
    if molecule.NumAtoms() == 1:  # a single atom: nothing to embed
        atom = molecule.GetAtom(1)
        return [openbabel.GetSymbol(atom.GetAtomicNum())], np.zeros((1, 3))
    molecule = _embed(molecule)
    symbols = [openbabel.GetSymbol(a.GetAtomicNum()) for a in openbabel.OBMolAtomIter(molecule)]
    coords = np.array([[a.GetX(), a.GetY(), a.GetZ()] for a in openbabel.OBMolAtomIter(molecule)])
    return symbols, coords


def spacer_from_smiles(
    smiles: str, heads: int | None = None, relax_steps: int = 250, head_torsion: float | None = None
) -> Spacer:
    """Read, protonate and embed a spacer; check it has ``heads`` ammonium heads (1 or 2) when given.

    :param relax_steps: MMFF94 conjugate-gradient steps with the extended torsions held.
    :param head_torsion: the torsion (degrees) of the first bond out of the head, N-C-C-X; by default
        gauche (:data:`GAUCHE`) when X is an aromatic ring atom, else anti (see the module docstring).

    :raises BuildError: invalid SMILES, no ammonium group, another number of heads than ``heads``,
        a net charge other than the number of heads, or elements a spacer cannot hold.
    """
    openbabel = bindings()

    from aiida_perovskite.structure.smiles import canonical_of

    molecule = _read(smiles)
    protonated = protonate_amines(molecule)
    cation = canonical_of(molecule)

    symbols_2d = [openbabel.GetSymbol(a.GetAtomicNum()) for a in openbabel.OBMolAtomIter(molecule)]
    metals = sorted({s for s in symbols_2d if s in {'Pb', 'Sn', 'Ge', 'Cs', 'Na', 'K', 'Rb'}})
    if metals:
        raise BuildError(f'spacer {smiles!r} contains {", ".join(metals)}: give the organic cation only')
    if any(atom.GetAtomicNum() == 0 for atom in openbabel.OBMolAtomIter(molecule)):
        raise BuildError(f'spacer {smiles!r} has a dummy atom (*)')

    head_atoms = [
        atom.GetIdx() - 1 for atom in openbabel.OBMolAtomIter(molecule)
        if atom.GetAtomicNum() == 7 and atom.GetFormalCharge() == 1 and atom.GetTotalDegree() - atom.GetHvyDegree() > 0
    ]
    charge = sum(atom.GetFormalCharge() for atom in openbabel.OBMolAtomIter(molecule))
    if not head_atoms:
        raise BuildError(
            f'spacer {smiles!r} ({cation}) has no ammonium group: a spacer needs an N-H+ head (a primary, secondary '
            'or tertiary aliphatic amine, protonated here, or a charged N written as such, e.g. [NH3+] or [nH+]); '
            'amides, anilines, aromatic N and quaternary ammonium are not protonated or are not heads'
        )
    if heads is not None and len(head_atoms) != heads:
        fits = {1: 'RP (Ruddlesden-Popper, monoammonium)', 2: 'DJ (Dion-Jacobson, diammonium)'}
        need = fits.get(heads, f'{heads} heads')
        has = fits.get(len(head_atoms))
        hint = f'; it fits phase {has}' if has else '; neither RP (one head) nor DJ (two heads) fits it'
        raise BuildError(
            f'spacer {cation} has {len(head_atoms)} ammonium head(s) but phase {need.split()[0]} needs {heads}{hint}'
        )
    if charge != len(head_atoms):
        raise BuildError(
            f'spacer {cation} carries a net charge of {charge:+d} but has {len(head_atoms)} ammonium head(s): '
            'only the heads may be charged (the layer takes +1 per head)'
        )

    molecule.AddHydrogens()
    molecule = _embed(molecule)
    symbols = [openbabel.GetSymbol(a.GetAtomicNum()) for a in openbabel.OBMolAtomIter(molecule)]
    first = head_atoms[0]
    neighbours = {
        a.GetIdx() - 1: [b.GetIdx() - 1 for b in openbabel.OBAtomAtomIter(a)] for a in openbabel.OBMolAtomIter(molecule)
    }
    distances, parents = _bfs(neighbours, first)
    if len(head_atoms) == 2:
        tail = head_atoms[1]
    else:
        heavy = [i for i, s in enumerate(symbols) if s != 'H' and i != first]
        tail = max(heavy, key=lambda i: (distances[i], -i)) if heavy else first
    path = [tail]
    while path[-1] != first:
        path.append(parents[path[-1]])
    path.reverse()
    _extend(molecule, path, relax_steps, head_torsion)
    coords = np.array([[a.GetX(), a.GetY(), a.GetZ()] for a in openbabel.OBMolAtomIter(molecule)])
    return Spacer(
        input_smiles=smiles, smiles=cation, symbols=symbols, coords=coords, heads=head_atoms, tail=tail,
        charge=charge, protonated=protonated,
    )


def _embed(molecule):
    """3D coordinates for ``molecule`` (hydrogens explicit), checked against its bonds.

    OpenBabel 3.1.1's builder caches fragments between calls and can hand a molecule the
    coordinates of an earlier, similar one (isobutylammonium built as a straight butyl chain after
    a butylammonium). Each molecule is therefore built in a fresh Python process, where the cache is
    empty and the random seed is the same: the same SMILES gives the same conformer whatever was
    built before (about 0.3 s per molecule). The result is checked against the bonds all the same.
    """
    import subprocess
    import sys

    openbabel = bindings()

    conversion = openbabel.OBConversion()
    conversion.SetInAndOutFormats('mol', 'mol')
    text = conversion.WriteString(molecule)
    key = text.split('\n', 2)[2]  # without the title and the time-stamped program line
    if key not in _EMBEDDED:
        result = subprocess.run(
            [sys.executable, '-c', 'import sys; from aiida_perovskite.builder.spacer import _embed_text; '
             'sys.stdout.write(_embed_text(sys.stdin.read()))'],
            input=text, capture_output=True, text=True, check=False, timeout=300,
        )
        _EMBEDDED[key] = result.stdout if result.returncode == 0 else ''
    fresh = openbabel.OBMol()
    if not _EMBEDDED[key] or not conversion.ReadString(fresh, _EMBEDDED[key]) or not _geometry_matches(fresh):
        raise BuildError('OpenBabel could not build 3D coordinates matching the molecule\'s bonds')
    return fresh


#: 3D MOL blocks already built in this process, by the input MOL block.
_EMBEDDED: dict[str, str] = {}


def _embed_text(text: str) -> str:
    """MOL block in, 3D MOL block out (the fresh-process fallback of :func:`_embed`)."""
    openbabel = bindings()

    conversion = openbabel.OBConversion()
    conversion.SetInAndOutFormats('mol', 'mol')
    molecule = openbabel.OBMol()
    conversion.ReadString(molecule, text)
    _seed_random()
    _build(molecule)
    return conversion.WriteString(molecule)


def _build(molecule) -> None:
    from openbabel import openbabel, pybel

    openbabel.OBBuilder().Build(molecule)
    pybel.Molecule(molecule).localopt('mmff94', 50)


def _geometry_matches(molecule) -> bool:
    """Every bond no longer than 1.25 x its covalent-radii sum, no two non-bonded heavy atoms closer than 1.9 A."""
    openbabel = bindings()

    table = {a.GetIdx(): a for a in openbabel.OBMolAtomIter(molecule)}
    bonded = set()
    for bond in openbabel.OBMolBondIter(molecule):
        a, b = bond.GetBeginAtom(), bond.GetEndAtom()
        limit = 1.25 * (openbabel.GetCovalentRad(a.GetAtomicNum()) + openbabel.GetCovalentRad(b.GetAtomicNum()))
        if a.GetDistance(b) > limit:
            return False
        bonded.add(frozenset((a.GetIdx(), b.GetIdx())))
    heavy = [a for a in table.values() if a.GetAtomicNum() > 1]
    for i, a in enumerate(heavy):
        for b in heavy[i + 1:]:
            if frozenset((a.GetIdx(), b.GetIdx())) not in bonded and a.GetDistance(b) < 1.9:
                return False
    return True


_WARMED_UP = []


def _seed_random(seed: int = 7) -> None:
    """Make OpenBabel's 3D builder reproducible: it draws from the C library's ``rand()``.

    The first build in a process draws a different number of values (one-off set-up), so one
    throw-away build comes first; afterwards ``srand(seed)`` before each build gives the same
    coordinates for the same SMILES in any process.
    """
    import ctypes

    from openbabel import pybel

    try:
        libc = ctypes.CDLL(None)
    except OSError:  # not a POSIX C library: conformers are then not reproducible bit for bit
        return
    if not _WARMED_UP:
        pybel.readstring('smi', 'CC').make3D()
        _WARMED_UP.append(True)
    libc.srand(seed)


def _bfs(neighbours: dict[int, list[int]], start: int):
    distances, parents = {start: 0}, {start: start}
    queue = deque([start])
    while queue:
        i = queue.popleft()
        for j in neighbours[i]:
            if j not in distances:
                distances[j] = distances[i] + 1
                parents[j] = i
                queue.append(j)
    return distances, parents


def _extend(molecule, path: list[int], steps: int, head_torsion: float | None = None) -> None:
    """Extended torsions along ``path`` (0-based indices), then a constrained MMFF94 relaxation.

    ``head_torsion`` sets the first one, N-C-C-X (default: :data:`GAUCHE` when X is aromatic).
    """
    openbabel = bindings()

    constraints = openbabel.OBFFConstraints()
    atoms = [molecule.GetAtom(i + 1) for i in path]
    for k in range(1, len(atoms) - 2):
        b, c = atoms[k], atoms[k + 1]
        bond = molecule.GetBond(b, c)
        if bond is None or bond.IsInRing() or bond.GetBondOrder() != 1:
            continue
        a, d = atoms[k - 1], atoms[k + 2]
        angle = 90.0 if (b.IsAromatic() or c.IsAromatic()) else 180.0
        if a.IsAromatic() and b.IsAromatic() or c.IsAromatic() and d.IsAromatic():
            # a ring atom at the end of the torsion: perpendicular ring (as in phenethylammonium crystals)
            angle = 90.0
        elif k == 1 and head_torsion is not None:
            angle = float(head_torsion)
        elif k == 1 and d.IsAromatic():
            angle = GAUCHE  # ammonium-CH2-CH2-aryl
        molecule.SetTorsion(a, b, c, d, math.radians(angle))
        constraints.AddTorsionConstraint(a.GetIdx(), b.GetIdx(), c.GetIdx(), d.GetIdx(), angle)
    forcefield = openbabel.OBForceField.FindForceField('mmff94')
    if forcefield is None or not forcefield.Setup(molecule, constraints):
        forcefield = openbabel.OBForceField.FindForceField('uff')
        if forcefield is None or not forcefield.Setup(molecule, constraints):
            return
    forcefield.SetConstraints(constraints)
    forcefield.ConjugateGradients(steps)
    forcefield.GetCoordinates(molecule)
