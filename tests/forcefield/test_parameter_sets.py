"""The shipped parameter sets: values as published, coverage errors, heteroatom policy."""

import pytest

from aiida_perovskite.forcefield import (
    ForceFieldError,
    MissingParametersError,
    available_parameter_sets,
    load_parameter_set,
)

# three seeds, quenched octahedra, a compound with a published CIF judged on its own positions (2026-11-27)
VALIDATED = ['myp-pbi-uff', 'myp-pbi-uffi', 'myp-sni-fit']


def test_shipped_sets():
    assert available_parameter_sets() == ['myp-pbbr', 'myp-pbbr-hb', 'myp-pbbr-uffbr', 'myp-pbcl-fit', 'myp-pbcl-hb',
                                          'myp-pbi', 'myp-pbi-hb', 'myp-pbi-uff', 'myp-pbi-uffi', 'myp-pbibr-uff',
                                          'myp-snbr-fit', 'myp-snbr-hb', 'myp-sni-fit', 'myp-sni-hb']
    myp = load_parameter_set('myp-pbi')
    assert myp.elements == ['I', 'Pb']
    assert myp.buckingham_pair('I', 'Pb') == (103496.13301, 0.321737, 0.0)
    assert myp.buckingham_pair('I', 'I') == (22793.338582, 0.482217, 696.949542)
    assert 'doi:10.1021/acs.jpcc.5b04283' in myp.citations[0]


def test_verified_means_validated_against_experiment():
    """``verified`` is derived from each set's recorded validation against experimental cells (mean |volume|
    within 5%, every cell keeping >= 90% of its octahedra), never set by hand."""
    from aiida_perovskite.forcefield import validation_holds

    assert [name for name in available_parameter_sets() if load_parameter_set(name).verified] == VALIDATED
    for name in available_parameter_sets():
        parameter_set = load_parameter_set(name)
        assert parameter_set.verified == validation_holds(parameter_set.validation)
    # the method's own iodide set and the published bromide set fail it: +21% and +13% volume
    assert max(cell['volume'] for cell in load_parameter_set('myp-pbi').validation['cells']) > 15
    assert min(cell['volume'] for cell in load_parameter_set('myp-pbbr').validation['cells']) > 10


def test_a_verified_flag_without_validation_is_refused():
    from aiida_perovskite.forcefield import ParameterSet

    content = {k: v for k, v in load_parameter_set('myp-snbr-fit').as_dict().items() if k != 'verified'}
    with pytest.raises(ValueError, match='verified is True but its validation is missing'):
        ParameterSet.from_dict({**content, 'verified': True})
    holding = {'tolerance': {'volume_percent': 5.0, 'octahedra_share': 0.9},
               'cells': [{'reference': 'x', 'volume': 6.0, 'octahedra': 1.0}]}
    assert not ParameterSet.from_dict({**content, 'validation': holding}).verified  # 6% > 5%
    holding['cells'].append({'reference': 'y', 'volume': -1.0, 'octahedra': 1.0})
    assert ParameterSet.from_dict({**content, 'validation': holding}).verified  # mean 3.5%


def test_cross_terms_distinguish_hydrogens():
    myp = load_parameter_set('myp-pbi')
    assert myp.ion_organic_pair('Pb', 'H', 'N') == ('lj', (0.0140, 2.26454), None)
    assert myp.ion_organic_pair('I', 'H', 'C') == ('lj', (0.0574, 3.10), None)
    assert myp.ion_organic_pair('Pb', 'N') == ('buck', (32690390.937995, 0.150947, 0.0), None)


def test_a_mixing_set_keeps_the_buckingham_terms_it_lists_for_an_organic_element():
    """In a Lorentz-Berthelot set, a halide-organic Buckingham term the set lists (the hydrogen-bond donor N's
    wall, say) replaces the mixed Lennard-Jones term for that element only."""
    from aiida_perovskite.forcefield import ParameterSet

    mixed = load_parameter_set('myp-pbbr-uffbr')
    n_lj, c_lj = (0.17, 3.25), (0.086, 3.4)
    assert mixed.ion_organic_pair('Br', 'N', organic_lj=n_lj)[0] == 'lj'
    content = mixed.as_dict()
    wall = ['Br', 'N', 94836.351975893, 0.3352375, 0.0]
    walled = ParameterSet.from_dict({**content, 'name': 'walled', 'buckingham': [*content['buckingham'], wall]})
    assert walled.ion_organic_pair('Br', 'N', organic_lj=n_lj) == ('buck', (94836.351975893, 0.3352375, 0.0), None)
    assert walled.ion_organic_pair('Br', 'C', organic_lj=c_lj) == mixed.ion_organic_pair('Br', 'C', organic_lj=c_lj)
    assert walled.ion_organic_pair('Br', 'H', 'N', organic_lj=(0.0157, 1.0691)) == \
        mixed.ion_organic_pair('Br', 'H', 'N', organic_lj=(0.0157, 1.0691))


def test_heteroatom_policy_is_explicit():
    myp = load_parameter_set('myp-pbi')
    style, values, assumption = myp.ion_organic_pair('I', 'S')
    assert (style, values) == ('buck', myp.buckingham_pair('I', 'C'))
    assert assumption == 'I-S takes the I-(C,N) Buckingham term'
    assert myp.ion_organic_pair('Pb', 'H', 'O')[2] == 'Pb-H on O takes the Pb-H(on N) term'
    with pytest.raises(MissingParametersError, match='no I-S term'):
        myp.ion_organic_pair('I', 'S', policy='refuse')
    with pytest.raises(ForceFieldError, match='unknown heteroatom policy'):
        myp.ion_organic_pair('I', 'S', policy='guess')


def test_unknown_element_names_the_sets():
    with pytest.raises(MissingParametersError) as excinfo:
        load_parameter_set('myp-pbi').check_elements({'Sn', 'I'})
    message = str(excinfo.value)
    assert 'no parameters for Sn' in message and 'myp-pbbr (Br, Pb)' in message and 'myp-sni-fit (I, Sn)' in message
    with pytest.raises(MissingParametersError, match='available: myp-pbbr, myp-pbbr-hb, myp-pbbr-uffbr'):
        load_parameter_set('nope')


def test_automatic_choice_covers_the_structure():
    from aiida_perovskite.forcefield import select_parameter_set

    assert select_parameter_set({'Pb', 'I'}).name == 'myp-pbi-uff'  # first validated by name
    assert select_parameter_set({'Sn', 'I'}).name == 'myp-sni-fit'  # not the unvalidated myp-sni-hb
    with pytest.raises(MissingParametersError, match='no parameter set covers Ge, I'):
        select_parameter_set({'Ge', 'I'})


def test_automatic_choice_refuses_unvalidated_sets_and_says_why():
    from aiida_perovskite.forcefield import resolve_parameter_set, select_parameter_set

    with pytest.raises(MissingParametersError) as excinfo:
        select_parameter_set({'Sn', 'Br'})
    message = str(excinfo.value)
    assert message.startswith('no validated parameter set covers Br, Sn: refused myp-snbr-fit: no validation')
    assert 'name a set to use it anyway' in message
    # lead bromide and chloride: every set tears the published cyclohexylammonium cells (0 of 16 and 3 of 32
    # octahedra in the median seed), and the refusal names that cell
    with pytest.raises(MissingParametersError, match=r'myp-pbbr-hb: 6 experimental cell\(s\): mean \|volume\| 5\.0%.*'
                                                     r'octahedra intact >= 0\.00 \(worst: \(cyclohexylammonium\)2PbBr4 CIF, 293 K;'):
        select_parameter_set({'Pb', 'Br'})
    with pytest.raises(MissingParametersError, match=r'refused myp-pbcl-fit: 6 experimental cell\(s\).*'
                                                     r'octahedra intact >= 0\.09 \(worst: \(cyclohexylammonium\)2PbCl4 CIF, 173 K;'):
        select_parameter_set({'Pb', 'Cl'})
    assert resolve_parameter_set('myp-pbbr-hb', {'Pb', 'Br'}).name == 'myp-pbbr-hb'  # by name it is used
    # tin iodide: judged on three published CIFs (16 of 16 in every seed) and the built (BA)2SnI4, whose
    # built (BZA)2SnI4 and (PEA)2SnI4 cells (which tear in some seeds) the CIFs of the same compounds replace
    tin = load_parameter_set('myp-sni-fit').validation
    assert [cell['octahedra'] for cell in tin['cells']] == [1.0, 1.0, 1.0, 1.0]
    assert [cell['reference'] for cell in tin['built_cells_replaced']] == ['BZA-SnI4', 'PEA-SnI4']
    assert select_parameter_set({'Sn', 'I'}).name == 'myp-sni-fit'
    assert not load_parameter_set('myp-pbbr-uffbr').verified


def test_preference_lists_fall_back_to_a_covering_set():
    from aiida_perovskite.forcefield import resolve_parameter_set

    assert resolve_parameter_set('myp-pbi-uffi, auto', {'Pb', 'I'}).name == 'myp-pbi-uffi'
    assert resolve_parameter_set('myp-pbi-uffi, auto', {'Sn', 'I'}).name == 'myp-sni-fit'  # uffi has no Sn
    assert resolve_parameter_set('myp-pbi-uffi, myp-pbbr-uffbr', {'Pb', 'Br'}).name == 'myp-pbbr-uffbr'  # named
    assert resolve_parameter_set('myp-pbi', {'Pb', 'I'}).name == 'myp-pbi'
    with pytest.raises(MissingParametersError, match='none of myp-pbi-uffi, auto covers Ge, I'):
        resolve_parameter_set('myp-pbi-uffi, auto', {'Ge', 'I'})
    with pytest.raises(MissingParametersError, match='no parameters for Br in the set'):
        resolve_parameter_set('myp-pbi', {'Pb', 'Br'})


def test_auto_passes_over_a_superseded_set_only_while_its_successor_is_validated(monkeypatch):
    from aiida_perovskite.forcefield import ParameterSet, parameter_sets

    holding = {'tolerance': {'volume_percent': 5.0, 'octahedra_share': 0.9},
               'cells': [{'reference': 'x', 'volume': 1.0, 'octahedra': 1.0}]}
    failing = {**holding, 'cells': [{'reference': 'x', 'volume': 9.0, 'octahedra': 1.0}]}
    base = {k: v for k, v in load_parameter_set('myp-pbbr-uffbr').as_dict().items() if k != 'verified'}

    def sets(successor_validation):
        return {'a-old': ParameterSet.from_dict({**base, 'name': 'a-old', 'validation': holding}),
                'b-new': ParameterSet.from_dict({**base, 'name': 'b-new', 'validation': successor_validation,
                                                 'supersedes': ['a-old']})}

    for successor, chosen in ((holding, 'b-new'), (failing, 'a-old')):
        shipped = sets(successor)
        monkeypatch.setattr(parameter_sets, 'available_parameter_sets', lambda shipped=shipped: sorted(shipped))
        monkeypatch.setattr(parameter_sets, 'load_parameter_set', lambda name, shipped=shipped: shipped[name])
        assert parameter_sets.select_parameter_set({'Pb', 'Br'}).name == chosen
    assert shipped['b-new'].as_dict()['supersedes'] == ['a-old']
