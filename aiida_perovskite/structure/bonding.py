"""Bond orders and formal charges of a molecule from its heavy-atom skeleton and explicit hydrogens.

Crystal structures give positions, not bond orders or charges. With every
hydrogen present, each atom's number of neighbours fixes how much valence is
left over: a carbon with three neighbours needs one double bond, a nitrogen
with four neighbours is an ammonium (+1). Left-over valence is paired up
between bonded atoms by a maximum-weight matching (a Kekule structure), which
also decides the rare cases a neighbour count alone cannot (pyridinium N+ vs
pyrrole N). Atoms whose valence cannot be satisfied are reported: in a CIF
this almost always means hydrogens are missing.

Where several Kekule structures are equally good (the + of an azolium ring can
sit on either N-H), the choice must not depend on the order of atoms in the
file, or two copies of one molecule would look different. Atoms are therefore
matched in a canonical order (from the resonance-independent skeleton), and
charges prefer the chemically usual atoms (an N-H nitrogen over S+ or N=N+=N).

Charge-separated groups: a terminal oxygen left with one bond (valence 1) is an
oxide anion O(-) when its partner makes it part of a known group, i.e. the
partner carries a + (nitro N(+)(=O)O(-), N-oxides, phosphine oxides) or holds
another terminal oxygen by a double bond (carboxylate, sulfonate, phosphate,
sulfate). Anywhere else (an alcohol or phenol O with one neighbour) it is still
reported as a missing hydrogen: a CIF that lost its O-H hydrogen must not be
read as an alkoxide.
"""

from __future__ import annotations

import dataclasses
import itertools

import networkx as nx

from .elements import VALENCE_CHARGES
from .errors import BondingError, MissingHydrogenError

__all__ = ('Bonding', 'assign_bond_orders')

_MANDATORY = 1000  # weight of an unsatisfied valence slot that must be paired


def _optional_cost(symbol: str, degree: int, valence: int) -> int:
    """Cost of raising an atom to ``valence`` beyond its minimum (it usually creates a formal charge)."""
    if symbol in ('N', 'P'):
        return 1 if degree == 3 else 6  # ammonium/pyridinium-like N+ is usual, cumulated N+ is not
    if symbol in ('S', 'Se'):
        return 3 if valence == 3 else 2
    if symbol == 'O':
        return 4
    return 5


def _mandatory_weight(symbol: str, degree: int) -> int:
    """Weight of a slot that must be paired; a terminal O's is a shade lower.

    Where a Kekule structure can either double-bond a terminal O or close a ring
    (pyridine N-oxide: N=O leaves a carbon unpaired, C=N+ leaves O(-)), the
    oxygen is the one left as O(-), never a carbon.
    """
    return _MANDATORY - 1 if symbol == 'O' and degree == 1 else _MANDATORY


@dataclasses.dataclass
class Bonding:
    """Bond orders keyed by ``(i, j)`` with ``i < j`` and formal charge per atom (local indices)."""

    orders: dict[tuple[int, int], int]
    charges: list[int]

    @property
    def charge(self) -> int:
        return sum(self.charges)


def assign_bond_orders(
    symbols: list[str],
    edges: list[tuple[int, int]],
    labels: list[str] | None = None,
    priority: list[int] | None = None,
) -> Bonding:
    """Assign bond orders and formal charges to one molecule.

    :param symbols: element of each atom.
    :param edges: bonded pairs ``(i, j)`` of local indices.
    :param labels: names of the atoms for error messages (default ``C3`` style).
    :param priority: a canonical rank per atom; ties between equally good
        structures are then broken the same way whatever the input order.
    :raises BondingError: an atom has more neighbours than any valence allows.
    :raises MissingHydrogenError: some atoms keep unpaired valence (too few neighbours).
    """
    labels = labels or [f'{symbol}{index}' for index, symbol in enumerate(symbols)]
    neighbours: list[list[int]] = [[] for _ in symbols]
    for i, j in edges:
        neighbours[i].append(j)
        neighbours[j].append(i)

    # Slots: each atom gets one node per unit of valence it may still take.
    # The first ``need`` slots are mandatory (the smallest valence the atom can
    # have), the rest optional (higher valence, which implies a formal charge).
    rank = priority if priority is not None else list(range(len(symbols)))
    slots: dict[int, list[tuple[int, int]]] = {}
    weight_of: dict[tuple[int, int], int] = {}
    for index, symbol in sorted(enumerate(symbols), key=lambda item: rank[item[0]]):
        degree = len(neighbours[index])
        options = [valence for valence, _ in VALENCE_CHARGES[symbol] if valence >= degree]
        if not options:
            names = ', '.join(labels[j] for j in neighbours[index])
            maximum = max(valence for valence, _ in VALENCE_CHARGES[symbol])
            raise BondingError(
                f'{labels[index]} has {degree} bonded neighbours ({names}) but {symbol} takes at most {maximum}; '
                'atoms too close or a wrong element?'
            )
        if symbol == 'H' and degree == 0:
            raise BondingError(f'{labels[index]} is a hydrogen atom bonded to nothing')
        need, room = min(options) - degree, max(options) - degree
        slots[index] = [(index, k) for k in range(room)]
        for k in range(room):
            weight_of[(index, k)] = (
                _mandatory_weight(symbol, degree) if k < need else -_optional_cost(symbol, degree, degree + k + 1)
            )

    graph = nx.Graph()
    for i, j in sorted(edges, key=lambda edge: sorted((rank[edge[0]], rank[edge[1]]))):
        for a, b in itertools.product(slots[i], slots[j]):
            weight = weight_of[a] + weight_of[b]
            if weight > 0:
                graph.add_edge(a, b, weight=weight)

    matching = nx.max_weight_matching(graph) if graph.number_of_edges() else set()
    orders = {tuple(sorted(edge)): 1 for edge in edges}
    used = {index: 0 for index in range(len(symbols))}
    for a, b in matching:
        orders[tuple(sorted((a[0], b[0])))] += 1
        used[a[0]] += 1
        used[b[0]] += 1

    charges = []
    unsatisfied = []
    for index, symbol in enumerate(symbols):
        valence = len(neighbours[index]) + used[index]
        allowed = dict(VALENCE_CHARGES[symbol])
        if valence not in allowed:
            unsatisfied.append(index)
            charges.append(0)
        else:
            charges.append(allowed[valence])
    for index in list(unsatisfied):
        if _is_oxide_anion(index, symbols, neighbours, used, orders, charges):
            charges[index] = -1
            unsatisfied.remove(index)
    if unsatisfied:
        described = ', '.join(
            f'{labels[i]} with {len(neighbours[i])} neighbour(s)'
            + (f' ({", ".join(labels[j] for j in neighbours[i])})' if neighbours[i] else '')
            for i in unsatisfied[:6]
        )
        raise MissingHydrogenError(
            f'{len(unsatisfied)} atom(s) cannot form a closed-shell molecule: {described}; '
            'hydrogen atoms are probably missing (--hydrogens add adds them at riding positions)'
        )
    return Bonding(orders=orders, charges=charges)


def _is_oxide_anion(index, symbols, neighbours, used, orders, charges) -> bool:
    """Whether an unsatisfied atom is the O(-) of a charge-separated group (see the module docstring)."""
    if symbols[index] != 'O' or len(neighbours[index]) != 1 or used[index]:
        return False
    partner = neighbours[index][0]
    if charges[partner] > 0:
        return True  # nitro, N-oxide, phosphine oxide: the + sits next door
    return any(
        other != index and symbols[other] == 'O' and len(neighbours[other]) == 1
        and orders[tuple(sorted((partner, other)))] == 2
        for other in neighbours[partner]
    )  # carboxylate, sulfonate, phosphate, sulfate: an X(=O)O(-) group
