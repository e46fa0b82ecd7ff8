"""Charge models (formal, myp, scaled:F) and mixed ion-organic cross terms, on a hand-made cell."""

import numpy as np
import pytest

from aiida_perovskite.forcefield import (
    ForceFieldError,
    MissingParametersError,
    load_parameter_set,
    parse_charge_model,
)
from aiida_perovskite.forcefield.lammps import build_system


def ammonium_pair():
    """Two NH4+ ions (N -0.2, H +0.3 each: +1 per molecule) as a ParmEd structure with GAFF-like types."""
    import parmed

    structure = parmed.Structure()
    bond_type = parmed.BondType(400.0, 1.03)
    structure.bond_types.append(bond_type)
    for molecule in range(2):  # coordinates are set below, after the topology
        nitrogen = parmed.Atom(name='N', type='n4', charge=-0.2, mass=14.007, atomic_number=7,
                               epsilon=0.17, rmin=1.824)
        structure.add_atom(nitrogen, 'AMM', molecule + 1)
        for _ in range(4):
            hydrogen = parmed.Atom(name='H', type='hn', charge=0.3, mass=1.008, atomic_number=1,
                                   epsilon=0.0157, rmin=0.6)
            structure.add_atom(hydrogen, 'AMM', molecule + 1)
            structure.bonds.append(parmed.Bond(nitrogen, hydrogen, bond_type))
    coordinates = []
    for origin in ([1.0, 1.0, 1.0], [4.0, 4.0, 4.0]):
        coordinates.append(origin)
        coordinates += [np.add(origin, o).tolist() for o in
                        ([0.6, 0.6, 0.6], [-0.6, -0.6, 0.6], [0.6, -0.6, -0.6], [-0.6, 0.6, -0.6])]
    structure.coordinates = np.array(coordinates)
    return structure


IONS = [('Pb', np.array([6.0, 6.0, 6.0])), ('I', np.array([9.2, 6.0, 6.0])), ('I', np.array([6.0, 9.2, 6.0])),
        ('I', np.array([6.0, 6.0, 9.2])), ('I', np.array([2.8, 6.0, 9.0]))]
LATTICE = np.eye(3) * 12.0


def charges_by_element(system):
    found = {}
    for _, kind, charge, _, _ in system.atoms:
        found.setdefault(system.types[kind - 1].element, set()).add(round(charge, 6))
    return found


@pytest.mark.parametrize('spec, pb, iodine, scale', [
    ('formal', 2.0, -1.0, 1.0),
    ('myp', 2.03, -1.13, 1.245),
    ('scaled:0.8', 1.6, -0.8, 0.8),
])
def test_charge_models_keep_the_cell_neutral(spec, pb, iodine, scale):
    system = build_system(ammonium_pair(), IONS, LATTICE, load_parameter_set('myp-pbi'), charge_model=spec)
    assert system.net_charge == pytest.approx(0, abs=1e-9)
    assert system.charge_model.spec == spec
    assert system.ion_charges == pytest.approx({'Pb': pb, 'I': iodine})
    assert system.organic_charge_scale == pytest.approx(scale)
    charges = charges_by_element(system)
    assert charges['Pb'] == {round(pb, 6)} and charges['I'] == {round(iodine, 6)}
    assert charges['N'] == {round(-0.2 * scale, 6)} and charges['H'] == {round(0.3 * scale, 6)}
    assert f'# Charge model {spec}:' in system.forcefield_script(cutoff=10.0, kspace_accuracy=1e-4)


def test_formal_model_leaves_the_method_unchanged():
    default = build_system(ammonium_pair(), IONS, LATTICE, load_parameter_set('myp-pbi'))
    formal = build_system(ammonium_pair(), IONS, LATTICE, load_parameter_set('myp-pbi'), charge_model='formal')
    assert [atom[2] for atom in default.atoms] == [atom[2] for atom in formal.atoms]
    assert default.charge_model.spec == 'formal'


def test_unknown_or_uncovered_charge_models_are_refused():
    for spec, message in (('bogus', "unknown charge model 'bogus'; choose one of formal, myp, scaled:F"),
                          ('scaled', 'needs a factor'), ('scaled:1.5', r'must lie in \(0, 1\]'),
                          ('myp:0.5', 'takes no factor')):
        with pytest.raises(ForceFieldError, match=message):
            parse_charge_model(spec)
    bromide = [('Pb', IONS[0][1])] + [('Br', xyz) for _, xyz in IONS[1:]]
    with pytest.raises(MissingParametersError, match='myp defines Pb \\+2.03 and I -1.13 only .* not Br'):
        build_system(ammonium_pair(), bromide, LATTICE, load_parameter_set('myp-pbbr'), charge_model='myp')
    # The same bromide cell is fine with formal charges or a scaling factor.
    scaled = build_system(ammonium_pair(), bromide, LATTICE, load_parameter_set('myp-pbbr'), charge_model='scaled:0.9')
    assert scaled.ion_charges == pytest.approx({'Pb': 1.8, 'Br': -0.9})


def test_mixed_cross_terms_follow_lorentz_berthelot():
    uff = load_parameter_set('myp-pbi-uff')
    assert uff.cross_terms == 'lorentz-berthelot'
    assert uff.ion_lj['Pb'] == pytest.approx((0.663, 4.297 / 2 ** (1 / 6)))
    assert uff.buckingham_pair('Pb', 'I') == load_parameter_set('myp-pbi').buckingham_pair('Pb', 'I')
    system = build_system(ammonium_pair(), IONS, LATTICE, uff)
    pairs = {(system.types[i - 1].label, system.types[j - 1].label): (style, values)
             for i, j, style, values in system.pair_coefficients()}
    style, (epsilon, sigma) = pairs[('n4', 'I')] if ('n4', 'I') in pairs else pairs[('I', 'n4')]
    n4_sigma = 2 * 1.824 / 2 ** (1 / 6)
    assert style == 'lj/cut/coul/long'
    assert epsilon == pytest.approx(np.sqrt(0.339 * 0.17))
    assert sigma == pytest.approx((4.5 / 2 ** (1 / 6) + n4_sigma) / 2)
    assert pairs[('Pb', 'I')][0] == 'buck/coul/long'
    assert system.assumptions == []  # mixing covers every element: no heteroatom assumption
    # A heteroatom the tabulated set only covers by assumption needs none here.
    assert uff.ion_organic_pair('I', 'S', organic_lj=(0.25, 3.56))[2] is None
    assert uff.as_dict()['cross_terms'] == 'lorentz-berthelot'
    assert 'cross_terms' not in load_parameter_set('myp-pbi').as_dict()  # stored sets keep their content


def test_mixing_can_be_limited_to_some_ions():
    """myp-pbi-uffi mixes iodide-organic pairs only; lead keeps the tabulated MYP terms."""
    uffi = load_parameter_set('myp-pbi-uffi')
    myp = load_parameter_set('myp-pbi')
    assert set(uffi.ion_lj) == {'I'}
    assert uffi.ion_organic_pair('Pb', 'N') == myp.ion_organic_pair('Pb', 'N')
    assert uffi.ion_organic_pair('Pb', 'H', 'C') == myp.ion_organic_pair('Pb', 'H', 'C')
    style, (epsilon, sigma), assumption = uffi.ion_organic_pair('I', 'C', organic_lj=(0.1094, 3.4))
    assert style == 'lj' and assumption is None
    assert (epsilon, sigma) == pytest.approx((np.sqrt(0.339 * 0.1094), (4.5 / 2 ** (1 / 6) + 3.4) / 2))
    system = build_system(ammonium_pair(), IONS, LATTICE, uffi, charge_model='myp')
    styles = {(system.types[i - 1].element, system.types[j - 1].element): style
              for i, j, style, _ in system.pair_coefficients()}
    assert styles[('N', 'Pb')] == 'buck/coul/long' and styles[('N', 'I')] == 'lj/cut/coul/long'
    assert system.net_charge == pytest.approx(0, abs=1e-9)


def test_mixed_halide_set_writes_every_pair():
    """myp-pbibr-uff on a cell holding both halides: Br-I is the tabulated Buckingham term, each halide mixes
    with the organic atoms from its own UFF values, and the cell stays neutral."""
    mixed = load_parameter_set('myp-pbibr-uff')
    ions = [('Pb', np.array([6.0, 6.0, 6.0])), ('I', np.array([9.2, 6.0, 6.0])), ('Br', np.array([6.0, 9.0, 6.0])),
            ('I', np.array([6.0, 6.0, 9.2])), ('Br', np.array([6.0, 6.0, 3.0]))]
    system = build_system(ammonium_pair(), ions, LATTICE, mixed)
    pairs = {frozenset((system.types[i - 1].label, system.types[j - 1].label)): (style, values)
             for i, j, style, values in system.pair_coefficients()}
    assert pairs[frozenset(('Br', 'I'))] == ('buck/coul/long', pytest.approx((23522.46038, 0.467539016, 675.6811288)))
    n4_sigma = 2 * 1.824 / 2 ** (1 / 6)
    assert pairs[frozenset(('n4', 'Br'))][1] == pytest.approx((np.sqrt(0.251 * 0.17), (4.189 / 2 ** (1 / 6) + n4_sigma) / 2))
    assert pairs[frozenset(('n4', 'I'))][1] == pytest.approx((np.sqrt(0.339 * 0.17), (4.5 / 2 ** (1 / 6) + n4_sigma) / 2))
    assert system.net_charge == pytest.approx(0, abs=1e-9)
    assert not mixed.verified  # no experimental mixed-halide cell has been run
