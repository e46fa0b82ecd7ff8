"""The inorganic part of a layered perovskite: flat corner-sharing BX6 slabs, one octahedron per cell in the plane.

Shared by the ideal-geometry cells (:mod:`.ideal`) and the builder from SMILES (:mod:`.builder`).
A slab of ``n`` octahedral layers has its first metal plane at the origin; it
spans heights ``-bond`` (bottom apical halides) to ``2 * bond * n - bond``
(top apical halides), and its pockets (the hollow between four apical halides)
lie at in-plane ``(bond, bond)``.
"""

from __future__ import annotations

import numpy as np

from .errors import BuildError

__all__ = ('A_CATIONS', 'BX_BOND', 'bx_bond', 'slab_sites')

#: Typical B-X bond lengths (Angstrom) of corner-sharing octahedra: half the pseudo-cubic cell of the
#: 3D perovskites (MAPbI3 6.33, MAPbBr3 5.93-5.98, MAPbCl3 5.68-5.72, MASnI3 6.24, MASnBr3 5.89;
#: Sn-Cl from cubic CsSnCl3, a = 5.56 A).
BX_BOND = {
    ('Pb', 'I'): 3.17, ('Pb', 'Br'): 2.99, ('Pb', 'Cl'): 2.86,
    ('Sn', 'I'): 3.12, ('Sn', 'Br'): 2.94, ('Sn', 'Cl'): 2.78,
}

#: A-site cations that fill the cages of ``n`` > 1 slabs.
A_CATIONS = ('MA', 'Cs')


def bx_bond(metal: str, halide: str) -> float:
    """The B-X bond length of ``metal``-``halide``, or a :class:`BuildError` listing the known pairs."""
    try:
        return BX_BOND[(metal, halide)]
    except KeyError:
        known = ', '.join(f'{b}-{x}' for b, x in sorted(BX_BOND))
        raise BuildError(f'no B-X bond length for {metal}-{halide}: known pairs are {known}') from None


def slab_sites(origin, n: int, metal: str, halide: str, bond: float, a_cation: str = 'MA', rotation: float = 0.0):
    """Sites ``(element, cartesian)`` of one slab of ``n`` layers whose first metal sits at ``origin``.

    :param rotation: the octahedra's rotation (radians) about the stacking axis. It moves the two
        equatorial halides this octahedron owns (its +x and +y corners) and leaves the apical ones
        on the metal's axis; neighbours turned the opposite way share those corners when the metals
        are ``2 bond cos(rotation)`` apart (a checkerboard, as in a sqrt(2) x sqrt(2) cell).
    """
    if a_cation not in A_CATIONS:
        raise BuildError(f'unknown A-site cation {a_cation!r}: choose one of {", ".join(A_CATIONS)}')
    from .ideal import methylammonium  # ideal.py builds its cells with this module

    origin = np.asarray(origin, dtype=float)
    sites = []
    c, s = bond * np.cos(rotation), bond * np.sin(rotation)
    for layer in range(n):
        z = 2 * bond * layer
        sites.append((metal, origin + [0, 0, z]))
        sites.append((halide, origin + [c, s, z]))
        sites.append((halide, origin + [-s, c, z]))
        sites.append((halide, origin + [0, 0, z - bond]))
    sites.append((halide, origin + [0, 0, 2 * bond * n - bond]))
    for layer in range(n - 1):  # A-site cations in the cages between metal planes
        cage = origin + [bond, bond, 2 * bond * layer + bond]
        if a_cation == 'Cs':
            sites.append(('Cs', cage))
        else:
            ma_symbols, ma_coords = methylammonium()
            centred = ma_coords - ma_coords[:2].mean(axis=0)
            sites.extend((element, cage + xyz) for element, xyz in zip(ma_symbols, centred))
    return sites
