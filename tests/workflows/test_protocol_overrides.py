"""Protocol overrides of ``MaterialWorkChain`` change only what they name, in both sections."""

from aiida import orm

from aiida_perovskite.workflows.ladder import load_protocol
from aiida_perovskite.workflows.material import MaterialWorkChain


def test_overrides_merge_key_by_key(aiida_profile, aiida_localhost, butanediammonium_dj, cif_node):
    from aiida_perovskite.tools.codes import register_local_codes

    codes = register_local_codes(aiida_localhost)
    overrides = {'parametrise': {'lammps': {'replication': [2, 2, 1]}}, 'ladder': {'temperatures': [300], 'shake': True}}
    builder = MaterialWorkChain.get_builder_from_protocol(codes, cif_node(butanediammonium_dj), 'fast', overrides)
    fast = load_protocol('fast')
    lammps = builder.parametrise.lammps.get_dict()
    assert lammps['replication'] == [2, 2, 1]
    assert lammps['kspace_accuracy'] == fast['parametrise']['lammps']['kspace_accuracy'] == 1e-4  # kept, not the default
    assert builder.parametrise.charge_method.value == 'gas'
    ladder = builder.ladder.parameters.get_dict()
    assert ladder['temperatures'] == [300] and ladder['shake'] is True
    assert ladder['minimise']['maxiter'] == fast['ladder']['minimise']['maxiter']
    assert isinstance(builder.cif, orm.CifData)


def test_a_replication_override_replaces_the_protocols_whole(aiida_profile, aiida_localhost, butanediammonium_dj,
                                                              cif_node):
    from aiida_perovskite.tools.codes import register_local_codes

    codes = register_local_codes(aiida_localhost)
    overrides = {'parametrise': {'lammps': {'replication': {'min_width': 12.0}}}}
    builder = MaterialWorkChain.get_builder_from_protocol(codes, cif_node(butanediammonium_dj), 'screening', overrides)
    assert load_protocol('screening')['parametrise']['lammps']['replication'] == {'in_plane': 2, 'stacking': 1}
    assert builder.parametrise.lammps.get_dict()['replication'] == {'min_width': 12.0}  # not merged with in_plane


def test_screening_and_fast_use_the_best_measured_force_field_thesis_the_literal_one():
    from aiida_perovskite.forcefield import resolve_parameter_set

    thesis = load_protocol('thesis')['parametrise']
    assert (thesis['parameter_set'], thesis['charge_model']) == ('auto', 'formal')
    assert resolve_parameter_set(thesis['parameter_set'], {'Pb', 'I'}).name == 'myp-pbi'  # the method's set
    for protocol in ('screening', 'fast'):
        chosen = load_protocol(protocol)['parametrise']
        assert chosen['charge_model'] == 'formal'
        assert resolve_parameter_set(chosen['parameter_set'], {'Pb', 'I'}).name == 'myp-pbi-uffi'
        assert resolve_parameter_set(chosen['parameter_set'], {'Pb', 'Br'}).name == 'myp-pbbr'  # no refusal
