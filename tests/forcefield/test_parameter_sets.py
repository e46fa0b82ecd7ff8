"""The shipped parameter sets: values as published, coverage errors, heteroatom policy."""

import pytest

from aiida_perovskite.forcefield import (
    ForceFieldError,
    MissingParametersError,
    available_parameter_sets,
    load_parameter_set,
)


def test_shipped_sets():
    assert available_parameter_sets() == ['myp-pbbr', 'myp-pbi', 'myp-pbi-uff', 'myp-pbi-uffi']
    myp = load_parameter_set('myp-pbi')
    assert myp.elements == ['I', 'Pb'] and myp.verified
    assert myp.buckingham_pair('I', 'Pb') == (103496.13301, 0.321737, 0.0)
    assert myp.buckingham_pair('I', 'I') == (22793.338582, 0.482217, 696.949542)
    assert 'doi:10.1021/acs.jpcc.5b04283' in myp.citations[0]
    assert not load_parameter_set('myp-pbbr').verified  # its source was not independently checked


def test_cross_terms_distinguish_hydrogens():
    myp = load_parameter_set('myp-pbi')
    assert myp.ion_organic_pair('Pb', 'H', 'N') == ('lj', (0.0140, 2.26454), None)
    assert myp.ion_organic_pair('I', 'H', 'C') == ('lj', (0.0574, 3.10), None)
    assert myp.ion_organic_pair('Pb', 'N') == ('buck', (32690390.937995, 0.150947, 0.0), None)


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
    assert 'no parameters for Sn' in message and 'myp-pbbr (Br, Pb)' in message and 'myp-pbi (I, Pb)' in message
    with pytest.raises(MissingParametersError, match='available: myp-pbbr, myp-pbi'):
        load_parameter_set('nope')


def test_automatic_choice_covers_the_structure():
    from aiida_perovskite.forcefield import select_parameter_set

    assert select_parameter_set({'Pb', 'I'}).name == 'myp-pbi'
    assert select_parameter_set({'Pb', 'Br'}).name == 'myp-pbbr'
    with pytest.raises(MissingParametersError, match='no parameter set covers I, Sn'):
        select_parameter_set({'Sn', 'I'})


def test_preference_lists_fall_back_to_a_covering_set():
    from aiida_perovskite.forcefield import resolve_parameter_set

    assert resolve_parameter_set('myp-pbi-uffi, auto', {'Pb', 'I'}).name == 'myp-pbi-uffi'
    assert resolve_parameter_set('myp-pbi-uffi, auto', {'Pb', 'Br'}).name == 'myp-pbbr'  # uffi has no Br
    assert resolve_parameter_set('myp-pbi', {'Pb', 'I'}).name == 'myp-pbi'
    with pytest.raises(MissingParametersError, match='none of myp-pbi-uffi, auto covers I, Sn'):
        resolve_parameter_set('myp-pbi-uffi, auto', {'Sn', 'I'})
    with pytest.raises(MissingParametersError, match='no parameters for Br in the set'):
        resolve_parameter_set('myp-pbi', {'Pb', 'Br'})
