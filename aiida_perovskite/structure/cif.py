"""Read a CIF into an ordered pymatgen ``Structure``, refusing what cannot be used; write one reproducibly."""

from __future__ import annotations

import pathlib
import re
import warnings

from pymatgen.core import Structure

from .elements import SUPPORTED_ELEMENTS
from .errors import DisorderError, MissingHydrogenError, UnreadableCifError, UnsupportedElementError

__all__ = ('read_cif', 'read_cif_text', 'check_elements', 'format_cif', 'measurement_temperature', 'structure_block',
           'NEAR_FULL', 'formula_summary', 'occupancy_summary')

#: A site of one element refined to at least this occupancy is a full site: single-crystal refinements
#: that let a heavy atom's occupancy float return 0.99-1.00 for a site nothing else shares, and no
#: simulation cell can hold 0.5 % of a lead atom. Such sites are read as fully occupied, under every
#: disorder policy, and the structure's ``properties['occupancy']`` says which.
NEAR_FULL = 0.98

_DATA_BLOCK = re.compile(r'^[ \t]*data_', re.MULTILINE | re.IGNORECASE)
_ATOM_SITES = re.compile(r'^\s*_atom_site_(fract|cartn)_x\b', re.MULTILINE | re.IGNORECASE)
_DISORDER_TAG = re.compile(r'^\s*_atom_site_disorder_(group|assembly)\b', re.MULTILINE | re.IGNORECASE)
_TEMPERATURE_TAGS = ('_diffrn_ambient_temperature', '_cell_measurement_temperature')
_FORMULA_SUM = re.compile(r'^\s*_chemical_formula_sum\s+([\'"]?)(.+?)\1\s*$', re.MULTILINE | re.IGNORECASE)


def read_cif(path: str | pathlib.Path, disorder: str = 'refuse', hydrogens: str = 'require') -> Structure:
    """Read the first structure of the CIF at ``path``.

    A site of one element with an occupancy of at least :data:`NEAR_FULL` is read as fully occupied
    (recorded in the structure's ``properties['occupancy']``); a declared formula that lists fewer hydrogens
    than the file places is a header error, noted in ``properties['declared_formula']``.

    :param disorder: ``refuse`` a CIF with partial occupancies or disorder groups, or keep its ``major``
        component (:func:`aiida_perovskite.structure.disorder.resolve_disorder`; what was kept is in the
        structure's ``properties['disorder']``).
    :param hydrogens: ``require`` every hydrogen, or ``add`` the missing ones at riding positions
        (:func:`aiida_perovskite.structure.hydrogens.add_missing_hydrogens`; what was added is in the structure's
        ``properties['hydrogens']``), before the CIF's formula is checked.

    :raises UnreadableCifError: the file is missing, empty or not a CIF with a structure.
    :raises DisorderError: the structure has partial occupancies or disorder groups.
    :raises UnsupportedElementError: an element outside :data:`SUPPORTED_ELEMENTS`.
    """
    path = pathlib.Path(path)
    try:
        text = path.read_text(errors='replace')
    except OSError as exception:
        raise UnreadableCifError(f'cannot read the file ({exception.strerror or exception})', str(path)) from exception
    return read_cif_text(text, name=str(path), disorder=disorder, hydrogens=hydrogens)


def structure_block(text: str) -> str:
    """The first ``data_`` block of a CIF that lists atom sites (the whole text if none does).

    Journal and CCDC deposits often open with a block of publication details only (``data_global``),
    and a file may hold several structures: the structure read, its temperature and its disorder tags
    all come from this one block.
    """
    starts = [match.start() for match in _DATA_BLOCK.finditer(text)]
    blocks = [text[start:end] for start, end in zip(starts, [*starts[1:], len(text)])]
    return next((block for block in blocks if _ATOM_SITES.search(block)), text)


def read_cif_text(text: str, name: str | None = None, disorder: str = 'refuse', hydrogens: str = 'require') -> Structure:
    """Read the first structure of a CIF given as text (:func:`structure_block`); ``name`` is used in
    error messages, ``disorder`` and ``hydrogens`` as in :func:`read_cif`."""
    from pymatgen.io.cif import CifParser

    from .disorder import DISORDER_POLICIES, resolve_disorder
    from .hydrogens import HYDROGEN_POLICIES, add_missing_hydrogens

    if disorder not in DISORDER_POLICIES:
        raise ValueError(f'unknown disorder policy {disorder!r}; known: {", ".join(DISORDER_POLICIES)}')
    if hydrogens not in HYDROGEN_POLICIES:
        raise ValueError(f'unknown hydrogen policy {hydrogens!r}; known: {", ".join(HYDROGEN_POLICIES)}')
    if not text.strip():
        raise UnreadableCifError('the file is empty', name)
    if not _DATA_BLOCK.search(text):
        raise UnreadableCifError('no "data_" block: this is not a CIF file', name)
    text = structure_block(text)
    resolved = None
    if disorder == 'major':
        text, resolved = resolve_disorder(text, name)

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        try:
            parser = CifParser.from_str(text, occupancy_tolerance=1.0)
            structures = parser.parse_structures(primitive=False, on_error='raise')
        except Exception as exception:  # pymatgen raises many types for broken files
            reasons = _pymatgen_reasons(caught) or str(exception)
            if 'occupancy' in reasons.lower():
                raise DisorderError(f'site occupancies do not add up: {reasons}', name) from exception
            if 'is not a multiple of' in reasons:
                raise UnreadableCifError(
                    f'a data loop ends part-way through a row ({reasons}): the file looks truncated', name
                ) from exception
            raise UnreadableCifError(f'no crystal structure could be read ({reasons})', name) from exception

    if not structures:
        raise UnreadableCifError(f'no crystal structure could be read ({_pymatgen_reasons(caught)})', name)

    structure = structures[0]
    near_full = _fill_near_full(structure)
    _check_disorder(structure, text, name)
    check_elements(structure, name)
    completed = None
    if hydrogens == 'add':
        structure, completed = add_missing_hydrogens(structure, name)
    declared = _check_formula_sum(structure, text, name, hydrogens_added=bool(completed))
    if declared:
        structure.properties['declared_formula'] = declared
    if near_full:
        structure.properties['occupancy'] = near_full
    if resolved:
        structure.properties['disorder'] = resolved
    if completed:
        structure.properties['hydrogens'] = completed
    return structure


def format_cif(structure: Structure, significant_figures: int = 8) -> str:
    """The CIF text of ``structure`` (pymatgen's ``CifWriter``), the same on every machine.

    A coordinate that should be zero comes out of the floating-point arithmetic as +-1e-17, its sign
    depending on the machine's numerical libraries, and would be written ``0.00000000`` on one
    machine and ``-0.00000000`` on another: every coordinate that rounds to zero at the written
    precision is written as zero.
    """
    import numpy as np
    from pymatgen.io.cif import CifWriter

    frac_coords = np.array(structure.frac_coords, dtype=float)
    frac_coords[np.abs(frac_coords) < 0.5 * 10.0**-significant_figures] = 0.0
    written = Structure(structure.lattice, structure.species_and_occu, frac_coords,
                        site_properties=structure.site_properties, labels=structure.labels)
    return str(CifWriter(written, significant_figures=significant_figures))


def measurement_temperature(text: str) -> tuple[float, str] | None:
    """The temperature (K) the CIF's cell was measured at, and the tag it came from, if the CIF says.

    ``_diffrn_ambient_temperature`` first, then ``_cell_measurement_temperature``; an
    uncertainty in brackets (``293(2)``) is dropped, and ``?`` or ``.`` mean unknown. Read from the
    block of the structure (:func:`structure_block`).
    """
    text = structure_block(text)
    for tag in _TEMPERATURE_TAGS:
        match = re.search(rf'^\s*{tag}\s+[\'"]?([0-9.]+)(\([0-9]+\))?[\'"]?\s*$', text, re.MULTILINE | re.IGNORECASE)
        if match:
            try:
                value = float(match.group(1))
            except ValueError:
                continue
            if value > 0:
                return value, tag
    return None


def check_elements(structure: Structure, name: str | None = None, supported=SUPPORTED_ELEMENTS) -> None:
    """Raise :class:`UnsupportedElementError` if ``structure`` holds an element outside ``supported``."""
    present = {getattr(specie, 'symbol', str(specie)) for specie in structure.composition.elements}
    unknown = sorted(present - set(supported))
    if unknown:
        raise UnsupportedElementError(
            f'unsupported element(s) {", ".join(unknown)}; supported are {", ".join(sorted(supported))}', name
        )


def occupancy_summary(record: dict) -> str:
    """One line naming the sites read as fully occupied (:data:`NEAR_FULL`), from their refined occupancies by
    label (the structure's ``properties['occupancy']``)."""
    listed = ', '.join(f'{label} ({occupancy:g})' for label, occupancy in record.items())
    return f'{len(record)} site(s) refined to nearly full occupancy read as fully occupied: {listed}'


def formula_summary(record: dict) -> str:
    """One line saying the CIF's declared formula lists fewer hydrogens than it places (see :func:`read_cif`)."""
    return (f'the CIF\'s _chemical_formula_sum {record["declared"]!r} lists fewer hydrogens than its atom sites '
            f'({record["read"]} per formula unit): the sites are used')


def _fill_near_full(structure: Structure) -> dict[str, float]:
    """Make every site of one element with an occupancy in [:data:`NEAR_FULL`, 1) fully occupied, in place;
    return the labels made so, with their occupancies."""
    filled = {}
    for index, site in enumerate(structure):
        if site.is_ordered or len(site.species) != 1:
            continue
        ((specie, occupancy),) = site.species.items()
        if occupancy >= NEAR_FULL:
            label = site.label or site.species_string
            structure.replace(index, specie, properties=site.properties, label=label)
            filled[label] = round(float(occupancy), 4)
    return filled


def _check_disorder(structure: Structure, text: str, name: str | None) -> None:
    # each symmetry-equivalent copy of a site carries its label: named once, counted as sites of the cell
    partial = list(dict.fromkeys(
        f'{site.label or site.species_string} ({site.species_string})'
        for site in structure
        if not site.is_ordered
    ))
    if partial:
        listed = ', '.join(partial[:5]) + (f' and {len(partial) - 5} more' if len(partial) > 5 else '')
        raise DisorderError(
            f'{len(partial)} partially occupied site(s): {listed}; resolve the disorder into one ordered '
            'structure before simulating it (--disorder major keeps the major component)',
            name,
        )
    if _DISORDER_TAG.search(text):
        groups = _disorder_groups(text)
        if groups:
            raise DisorderError(
                f'the CIF declares disorder groups {", ".join(sorted(groups))}; keep one component of each '
                'disordered part before simulating it (--disorder major keeps the major one)',
                name,
            )


def _check_formula_sum(structure: Structure, text: str, name: str | None, hydrogens_added: bool = False) -> dict | None:
    """Compare the atoms read with the CIF's own ``_chemical_formula_sum`` (if it has one).

    A file cut at a line boundary still parses, with atoms missing; an
    experimental CIF often lists hydrogens in its formula without positions. A formula that lists
    fewer hydrogens than the file places, every other element agreeing, is a header written from
    the hydrogens' refined occupancies (Olex2 has been seen to write ``C16 H0.25 I4 N2 Pb`` for a
    (PEA)2PbI4 cell with every hydrogen placed): nothing is missing, so the sites are used and the
    returned record (``declared``, ``read`` per formula unit) says so. Not when the reader added
    hydrogens (``hydrogens_added``): then the declared formula is the only word on the chemistry (a
    neutral amine declared, an ammonium built), and a mismatch is refused.
    """
    from pymatgen.core import Composition

    match = _FORMULA_SUM.search(text)
    if not match:
        return
    try:
        declared = Composition(match.group(2).replace(' ', ''))
    except Exception:  # an unparsable formula string is not worth refusing the file for
        return
    parsed = structure.composition
    if declared['H'] > 0 and parsed['H'] == 0:
        raise MissingHydrogenError(
            f'the formula declares {declared["H"]:g} H (_chemical_formula_sum {match.group(2)!r}) but no hydrogen '
            'positions are given; add them (e.g. riding-model positions, or --hydrogens add) before simulating',
            name,
        )
    if not declared.reduced_composition.almost_equals(parsed.reduced_composition, rtol=1e-3, atol=1e-3):
        heavy_declared, heavy_parsed = (Composition({element: amount for element, amount in composition.items()
                                                     if element.symbol != 'H'}) for composition in (declared, parsed))
        if not hydrogens_added and heavy_declared.num_atoms and heavy_declared.reduced_composition.almost_equals(
                heavy_parsed.reduced_composition, rtol=1e-3, atol=1e-3):
            units = heavy_parsed.num_atoms / heavy_declared.num_atoms  # formula units of the declared formula read
            if parsed['H'] > declared['H'] * units:
                per_unit = Composition({element: amount / units for element, amount in parsed.items()})
                return {'declared': match.group(2), 'read': per_unit.hill_formula.replace(' ', '')}
        raise UnreadableCifError(
            f'the atoms read ({parsed.hill_formula.replace(" ", "")}) do not match the declared '
            f'_chemical_formula_sum {match.group(2)!r}: truncated or incomplete atom list?',
            name,
        )
    return None


def _disorder_groups(text: str) -> set[str]:
    """Return the disorder group labels other than the placeholders ``.`` and ``?``."""
    from pymatgen.io.cif import CifFile

    groups = set()
    for block in CifFile.from_str(text).data.values():
        for tag in ('_atom_site_disorder_group', '_atom_site_disorder_assembly'):
            values = block.data.get(tag, [])
            values = [values] if isinstance(values, str) else values
            groups.update(value for value in values if value not in ('.', '?', ''))
    return groups


def _pymatgen_reasons(caught) -> str:
    messages = []
    for warning in caught:
        message = str(warning.message).strip()
        if message and message not in messages:
            messages.append(message)
    return '; '.join(messages)
