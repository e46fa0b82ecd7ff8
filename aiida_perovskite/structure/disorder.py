"""Resolve the positional disorder of an experimental CIF into one ordered structure: its major component.

Room-temperature structures of layered perovskites often refine a spacer (or a halide) over two
positions, each a complete alternative with its occupancy, marked in the CIF with
``_atom_site_disorder_assembly`` / ``_atom_site_disorder_group`` (SHELX ``PART``) or only by
occupancies below one. A simulation needs one ordered cell. The policy ``major`` keeps, in every
disorder assembly, the group with the highest mean occupancy (the lowest group label when two are
within :data:`EQUAL_OCCUPANCY`, a choice the record states), and of the partially occupied sites
outside any group those above one half; every kept site becomes fully occupied. It refuses, with
the sites named, what has no single major component:

* a group with a negative label (SHELX ``PART -n``): the component overlaps its own symmetry image,
  and keeping it keeps both;
* a half-occupied site outside any group: nothing says which of the alternatives it belongs to;
* a dropped site that shares its position with a kept site of another element (substitutional
  disorder: a mixed halide such as Br/I on one site, or Pb/Sn): dropping it would change the
  composition, not choose a conformation.

Plain Python on pymatgen's CIF reader; :func:`aiida_perovskite.structure.cif.read_cif_text` applies
it before reading, and ``decompose_cif`` stores its record with the decomposition.
"""

from __future__ import annotations

import re

import numpy as np

from .errors import DisorderError

__all__ = ('DISORDER_POLICIES', 'EQUAL_OCCUPANCY', 'resolve_disorder', 'summary')

#: ``refuse``: a disordered CIF is an error (the default); ``major``: keep the major component.
DISORDER_POLICIES = ('refuse', 'major')
#: Mean occupancies of two groups this close count as equal.
EQUAL_OCCUPANCY = 0.02
#: A dropped site this close (Angstrom) to a kept site of another element is substitutional disorder.
SAME_SITE = 0.5
#: Elements of the spacers: a head-to-tail flip of a spacer puts its N where its C was, which is a
#: conformation, not a mixed site; only a site with another element than these is checked.
_ORGANIC = frozenset({'H', 'D', 'C', 'N', 'O', 'S'})

_PLACEHOLDERS = ('.', '?', '')
_NUMBER = re.compile(r'^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?')
_ELEMENT = re.compile(r'^([A-Z][a-z]?)')


def _number(value: str, default: float) -> float:
    """A CIF number without its standard uncertainty (``0.522(9)`` -> 0.522); a placeholder is ``default``."""
    if value.strip() in _PLACEHOLDERS:
        return default
    match = _NUMBER.match(value)
    if not match:
        raise ValueError(value)
    return float(match.group(0))


def _column(data: dict, tag: str, length: int, default: str) -> list[str]:
    values = data.get(tag)
    if values is None:
        return [default] * length
    return [values] if isinstance(values, str) else list(values)


def _group_order(label: str):
    """Group labels in numeric order where they are numbers (``1`` before ``2`` before ``10``)."""
    return (0, int(label), label) if label.isdigit() else (1, 0, label)


def _cell_matrix(data: dict) -> np.ndarray | None:
    try:
        a, b, c, alpha, beta, gamma = (_number(str(data[f'_cell_{name}']), float('nan')) for name in
                                       ('length_a', 'length_b', 'length_c', 'angle_alpha', 'angle_beta', 'angle_gamma'))
    except (KeyError, ValueError):
        return None
    from pymatgen.core import Lattice

    return Lattice.from_parameters(a, b, c, alpha, beta, gamma).matrix


def resolve_disorder(text: str, name: str | None = None) -> tuple[str, dict | None]:
    """The CIF's structure block (:func:`~aiida_perovskite.structure.cif.structure_block`) with only the major
    component of its disorder, and the record of what was kept; ``(text, None)`` for an ordered CIF.

    The record: ``assemblies`` (per assembly, the mean occupancy of each group and the group kept, ``tie``
    when the choice was between equal occupancies), ``dropped`` (labels of the sites removed) and
    ``filled`` (labels of partially occupied sites kept, now fully occupied, with their occupancy).

    :raises DisorderError: the disorder has no single major component (see the module documentation).
    """
    from pymatgen.io.cif import CifFile

    from .cif import structure_block

    block_text = structure_block(text)
    try:
        cif = CifFile.from_str(block_text)
    except Exception:  # let the reader report an unreadable file in its own words
        return text, None
    if not cif.data:
        return text, None
    block = next(iter(cif.data.values()))
    data = block.data
    labels = _column(data, '_atom_site_label', 0, '')
    count = len(labels)
    if not count:
        return text, None
    symbols = _column(data, '_atom_site_type_symbol', count, '')
    elements = [(_ELEMENT.match(symbol or label) or _ELEMENT.match(label) or [None, label])[1]
                for symbol, label in zip(symbols, labels)]
    try:
        occupancies = [_number(value, 1.0) for value in _column(data, '_atom_site_occupancy', count, '1')]
    except ValueError as error:
        raise DisorderError(f'unreadable site occupancy {error}', name) from error
    groups = [value.strip() for value in _column(data, '_atom_site_disorder_group', count, '.')]
    assemblies = [value.strip() for value in _column(data, '_atom_site_disorder_assembly', count, '.')]
    grouped = [i for i in range(count) if groups[i] not in _PLACEHOLDERS]
    loose = [i for i in range(count) if groups[i] in _PLACEHOLDERS and occupancies[i] < 1 - 1e-3]
    if not grouped and not loose:
        return text, None

    negative = sorted({groups[i] for i in grouped if groups[i].startswith('-')}, key=_group_order)
    if negative:
        sites = [labels[i] for i in grouped if groups[i] in negative]
        raise DisorderError(
            f'disorder group(s) {", ".join(negative)} ({_listed(sites)}) overlap their own symmetry images '
            '(SHELX PART -n): no single component can be kept; resolve it by hand', name)
    halves = [labels[i] for i in loose if abs(occupancies[i] - 0.5) <= EQUAL_OCCUPANCY / 2]
    if halves:
        raise DisorderError(
            f'half-occupied site(s) {_listed(halves)} belong to no disorder group, so which alternative is the '
            'major one is not stated; give them disorder groups or resolve them by hand', name)

    keep = [True] * count
    record = {'assemblies': {}, 'dropped': [], 'filled': {}}
    components: dict[str, dict[str, list[int]]] = {}
    for i in grouped:
        components.setdefault(assemblies[i], {}).setdefault(groups[i], []).append(i)
    for assembly, members in sorted(components.items()):
        means = {group: float(np.mean([occupancies[i] for i in sites])) for group, sites in members.items()}
        best = max(means.values())
        tied = sorted((group for group, mean in means.items() if best - mean <= EQUAL_OCCUPANCY), key=_group_order)
        kept = tied[0]
        for group, sites in members.items():
            if group != kept:
                for i in sites:
                    keep[i] = False
        record['assemblies'][assembly if assembly not in _PLACEHOLDERS else '.'] = {
            'groups': {group: round(mean, 3) for group, mean in sorted(means.items(), key=lambda g: _group_order(g[0]))},
            'kept': kept, 'tie': len(tied) > 1}
    for i in loose:
        if occupancies[i] < 0.5:
            keep[i] = False

    _refuse_substitution(data, labels, elements, keep, name)
    for i in range(count):
        if not keep[i]:
            record['dropped'].append(labels[i])
        elif occupancies[i] < 1 - 1e-3:
            record['filled'][labels[i]] = round(occupancies[i], 3)

    site_tags = next((loop for loop in block.loops if '_atom_site_label' in loop), [])
    for tag in site_tags:
        values = _column(data, tag, count, '.')
        if tag == '_atom_site_occupancy':
            values = ['1'] * count
        elif tag in ('_atom_site_disorder_group', '_atom_site_disorder_assembly'):
            values = ['.'] * count
        data[tag] = [value for value, kept in zip(values, keep) if kept]
    dropped = set(record['dropped'])
    aniso_tags = next((loop for loop in block.loops if '_atom_site_aniso_label' in loop), None)
    if aniso_tags:
        kept_rows = [label not in dropped for label in _column(data, '_atom_site_aniso_label', 0, '')]
        for tag in aniso_tags:
            data[tag] = [value for value, kept in zip(_column(data, tag, len(kept_rows), '.'), kept_rows) if kept]
    return str(cif), record


def summary(record: dict) -> str:
    """One line saying what :func:`resolve_disorder` kept and dropped."""
    parts = []
    for assembly, choice in record['assemblies'].items():
        occupancies = ', '.join(f'{group}: {mean:g}' for group, mean in choice['groups'].items())
        where = '' if assembly == '.' else f' of assembly {assembly}'
        tie = ' (equal occupancies: the lowest group kept)' if choice['tie'] else ''
        parts.append(f'kept group {choice["kept"]}{where} ({occupancies}){tie}')
    if record['filled']:
        parts.append(f'{len(record["filled"])} partially occupied site(s) filled')
    return f'disorder resolved to its major component: {"; ".join(parts)}; {len(record["dropped"])} site(s) dropped'


def _listed(labels: list[str]) -> str:
    return ', '.join(labels[:5]) + (f' and {len(labels) - 5} more' if len(labels) > 5 else '')


def _refuse_substitution(data: dict, labels: list[str], elements: list[str], keep: list[bool], name) -> None:
    """Raise if a dropped site sits on a kept site of another element (a mixed site, not a conformation)."""
    matrix = _cell_matrix(data)
    try:
        fractional = np.array([[_number(value, float('nan')) for value in _column(data, f'_atom_site_fract_{axis}',
                                                                                   len(labels), '?')]
                               for axis in 'xyz']).T
    except ValueError:
        return
    if matrix is None or not np.isfinite(fractional).all():
        return
    kept = [i for i in range(len(labels)) if keep[i]]
    for i in (i for i in range(len(labels)) if not keep[i]):
        delta = fractional[kept] - fractional[i]
        delta -= np.round(delta)
        distances = np.linalg.norm(delta @ matrix, axis=1)
        for j, distance in zip(kept, distances):
            if distance < SAME_SITE and elements[j] != elements[i] and not {elements[i], elements[j]} <= _ORGANIC:
                raise DisorderError(
                    f'sites {labels[j]} ({elements[j]}) and {labels[i]} ({elements[i]}) share one position '
                    f'({distance:.2f} A apart): a mixed site (mixed halide or metal alloy) has no major component '
                    'that keeps the composition; order it by hand', name)
