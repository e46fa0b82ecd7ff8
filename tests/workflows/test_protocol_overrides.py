"""Protocols: one YAML per work chain, builders generated from them, overrides that change only what they name,
and each default defined once."""

import pathlib
import re
from types import SimpleNamespace

import pytest
from aiida import orm

from aiida_perovskite.forcefield import MissingParametersError
from aiida_perovskite.workflows.ladder import TemperatureLadderWorkChain
from aiida_perovskite.workflows.material import MaterialWorkChain
from aiida_perovskite.workflows.parametrise import ParametriseWorkChain
from aiida_perovskite.workflows.validation import ValidationWorkChain

CHAINS = (ParametriseWorkChain, TemperatureLadderWorkChain, MaterialWorkChain, ValidationWorkChain)
PACKAGE = pathlib.Path(__file__).resolve().parents[2] / 'aiida_perovskite'


@pytest.fixture
def codes(aiida_localhost):
    from aiida_perovskite.tools.codes import register_local_codes

    return register_local_codes(aiida_localhost)


@pytest.mark.parametrize('chain', CHAINS, ids=lambda chain: chain.__name__)
def test_every_chain_has_its_own_protocol_file(chain):
    """Same protocol names everywhere, so a parent passes its own protocol down to its children."""
    assert chain.get_protocol_filepath().is_file()
    assert chain.get_protocol_filepath().name == chain._protocol_file  # noqa: SLF001
    protocols = chain.get_available_protocols()
    assert sorted(protocols) == ['fast', 'screening', 'thesis']
    assert all(protocol['description'] for protocol in protocols.values())
    assert chain.get_default_protocol() == 'screening'
    with pytest.raises(ValueError, match="unknown protocol 'slow'"):
        chain.get_protocol_inputs('slow')
    assert len({chain.get_protocol_filepath() for chain in CHAINS}) == len(CHAINS)


#: The settings each protocol had before protocols were split per work chain: behaviour must not change.
PARAMETRISE = {
    'thesis': ('bcc', 'formal', 'myp-pbi, auto', [3, 3, 3], 1e-5),
    'screening': ('bcc', 'formal', 'myp-pbi-uffi, auto', {'in_plane': 2, 'stacking': 1}, 1e-5),
    'fast': ('gas', 'formal', 'myp-pbi-uffi, auto', [1, 1, 1], 1e-4),
}
LADDER = {
    'thesis': (list(range(200, 351, 10)), 40000, 20000, 4000, 1000, 10000, 'aniso', 1000),
    'screening': ([200, 250, 300, 350], 6000, 6000, 1000, 100, 3000, 'tri', 1000),
    'fast': ([250, 300], 1000, 500, 200, 50, 250, 'tri', 200),
}


@pytest.mark.parametrize('protocol', sorted(PARAMETRISE))
def test_builders_carry_each_protocols_settings(protocol, codes, cif_node, butylammonium_rp):
    cif = cif_node(butylammonium_rp)
    builder = MaterialWorkChain.get_builder_from_protocol(codes, cif, protocol, options={'max_wallclock_seconds': 60})
    parametrise = builder.parametrise
    charge_method, charge_model, parameter_set, replication, kspace = PARAMETRISE[protocol]
    assert (parametrise.charge_method.value, parametrise.charge_model.value, parametrise.parameter_set.value) == (
        charge_method, charge_model, parameter_set)
    assert (parametrise.atom_types.value, parametrise.heteroatom_policy.value) == ('gaff', 'heavy-as-cn')
    assert parametrise.lammps.get_dict() == {'replication': replication, 'cutoff': 12.0, 'kspace_accuracy': kspace}
    assert sorted(parametrise.codes) == ['antechamber', 'parmchk2', 'tleap']
    ladder = builder.ladder.parameters.get_dict()
    temperatures, steps, equilibration, cut, thermo, restart, barostat, maxiter = LADDER[protocol]
    assert (ladder['temperatures'], ladder['steps_per_temperature'], ladder['equilibration_steps'],
            ladder['equilibration_cut'], ladder['thermo_every'], ladder['restart_every'], ladder['barostat'],
            ladder['minimise']['maxiter']) == (temperatures, steps, equilibration, cut, thermo, restart, barostat, maxiter)
    assert (ladder['timestep'], ladder['pressure'], ladder['tdamp'], ladder['pdamp'], ladder['shake']) == (
        1.0, 1.0, 100.0, 1000.0, False)
    assert 'kspace_accuracy' not in ladder  # the topology's (see test_segments_take_the_topologys_pppm_accuracy)
    assert builder.ladder.code.pk == codes['lammps'].pk and builder.ladder.options == {'max_wallclock_seconds': 60}
    assert builder.cif.uuid == cif.uuid and 'cif' not in builder.parametrise


def test_parents_build_children_through_the_childrens_builders(codes, cif_node, butylammonium_rp):
    cif = cif_node(butylammonium_rp)
    overrides = {'parametrise': {'charge_model': 'myp'}, 'ladder': {'temperatures': [300]}}
    material = MaterialWorkChain.get_builder_from_protocol(codes, cif, 'fast', overrides)
    parametrise = ParametriseWorkChain.get_builder_from_protocol(codes, cif, 'fast', overrides['parametrise'])
    ladder = TemperatureLadderWorkChain.get_builder_from_protocol(codes['lammps'], None, 'fast', overrides['ladder'])
    for key in ('charge_method', 'charge_model', 'atom_types', 'parameter_set', 'heteroatom_policy'):
        assert material.parametrise[key].value == parametrise[key].value, key
    assert material.parametrise.lammps.get_dict() == parametrise.lammps.get_dict()
    assert material.ladder.parameters.get_dict() == ladder.parameters.get_dict()
    assert material.parametrise.charge_model.value == 'myp' and ladder.parameters['temperatures'] == [300]


def test_overrides_merge_key_by_key(codes, butanediammonium_dj, cif_node):
    overrides = {'parametrise': {'lammps': {'replication': [2, 2, 1]}}, 'ladder': {'temperatures': [300], 'shake': True}}
    builder = MaterialWorkChain.get_builder_from_protocol(codes, cif_node(butanediammonium_dj), 'fast', overrides)
    fast = ParametriseWorkChain.get_protocol_inputs('fast')
    lammps = builder.parametrise.lammps.get_dict()
    assert lammps['replication'] == [2, 2, 1]
    assert lammps['kspace_accuracy'] == fast['lammps']['kspace_accuracy'] == 1e-4  # kept, not the default
    assert builder.parametrise.charge_method.value == 'gas'
    ladder = builder.ladder.parameters.get_dict()
    assert ladder['temperatures'] == [300] and ladder['shake'] is True
    assert ladder['minimise']['maxiter'] == TemperatureLadderWorkChain.get_protocol_inputs('fast')['minimise']['maxiter']
    assert isinstance(builder.cif, orm.CifData)


def test_a_replication_override_replaces_the_protocols_whole(codes, butanediammonium_dj, cif_node):
    overrides = {'parametrise': {'lammps': {'replication': {'min_width': 12.0}}}}
    builder = MaterialWorkChain.get_builder_from_protocol(codes, cif_node(butanediammonium_dj), 'screening', overrides)
    assert ParametriseWorkChain.get_protocol_inputs('screening')['lammps']['replication'] == {'in_plane': 2, 'stacking': 1}
    assert builder.parametrise.lammps.get_dict()['replication'] == {'min_width': 12.0}  # not merged with in_plane


def test_validation_is_one_temperature_of_the_material_protocol(codes, cif_node, butylammonium_rp):
    cif = cif_node(butylammonium_rp)
    reference = {'temperature': 250, 'temperature_source': 'given', 'cell': {'a': 8.9}}
    overrides = {'steps': 400, 'material': {'parametrise': {'charge_model': 'myp', 'parameter_set': 'myp-pbi'}}}
    builder = ValidationWorkChain.get_builder_from_protocol(codes, cif, reference, overrides=overrides)
    parametrise, ladder = builder.material.parametrise, builder.material.ladder.parameters.get_dict()
    assert builder.reference.get_dict() == {'temperature': 250.0, 'temperature_source': 'given', 'cell': {'a': 8.9}}
    assert (parametrise.charge_model.value, parametrise.parameter_set.value) == ('myp', 'myp-pbi')
    assert parametrise.charge_method.value == 'bcc'  # the screening protocol's, not restated by validation.yaml
    assert parametrise.lammps.get_dict() == {'replication': {'min_width': 12.0}, 'cutoff': 12.0, 'kspace_accuracy': 1e-5}
    assert ladder['temperatures'] == [250.0] and ladder['barostat'] == 'tri'
    assert (ladder['steps_per_temperature'], ladder['equilibration_steps'], ladder['equilibration_cut'],
            ladder['thermo_every'], ladder['restart_every']) == (400, 10000, 0, 100, 200)
    # Without overrides: the screening force field, the protocol's run lengths.
    default = ValidationWorkChain.get_builder_from_protocol(codes, cif, {'temperature': 300, 'temperature_source': 'x'})
    assert default.material.parametrise.parameter_set.value == 'myp-pbi-uffi, auto'
    assert default.material.ladder.parameters['steps_per_temperature'] == 10000
    assert default.material.ladder.parameters['restart_every'] == 5000
    # The broken-physics thresholds: the defaults, except where the material protocol sets its own (fast).
    assert 'physics_checks' not in default.reference.get_dict()
    fast = ValidationWorkChain.get_builder_from_protocol(codes, cif, {'temperature': 300}, protocol='fast')
    assert fast.reference['physics_checks'] == fast.material.physics_checks.get_dict() == {
        'max_octahedra_loss': 1.0, 'max_volume_change': 0.5}


def test_segments_take_the_topologys_pppm_accuracy():
    from aiida_perovskite.simulation.script import validate
    from aiida_perovskite.workflows.ladder import segment_settings

    topology = SimpleNamespace(base=SimpleNamespace(attributes={'kspace_accuracy': 1e-4}))  # what is read of it
    ladder = TemperatureLadderWorkChain.get_protocol_inputs('thesis')
    npt = validate(segment_settings(ladder, topology, 'npt', temperature=300.0, target_step=100))
    assert npt['kspace_accuracy'] == 1e-4 and npt['timestep'] == 1.0 and 'minimise' not in npt
    minimise = validate(segment_settings({**ladder, 'kspace_accuracy': 1e-6}, topology, 'minimise', target_step=0))
    assert minimise['kspace_accuracy'] == 1e-6  # a ladder override wins
    assert minimise['minimise'] == {'etol': 1e-6, 'ftol': 1e-8, 'maxiter': 1000, 'maxeval': 10000}


def test_screening_and_fast_use_the_best_measured_force_field_thesis_the_literal_one():
    from aiida_perovskite.forcefield import resolve_parameter_set

    thesis = ParametriseWorkChain.get_protocol_inputs('thesis')
    assert (thesis['parameter_set'], thesis['charge_model']) == ('myp-pbi, auto', 'formal')
    assert resolve_parameter_set(thesis['parameter_set'], {'Pb', 'I'}).name == 'myp-pbi'  # the method's set, by name
    assert resolve_parameter_set(thesis['parameter_set'], {'Sn', 'I'}).name == 'myp-sni-fit'  # else validated
    for protocol in ('screening', 'fast'):
        chosen = ParametriseWorkChain.get_protocol_inputs(protocol)
        assert chosen['charge_model'] == 'formal'
        assert resolve_parameter_set(chosen['parameter_set'], {'Pb', 'I'}).name == 'myp-pbi-uffi'
        assert resolve_parameter_set(chosen['parameter_set'], {'Sn', 'I'}).name == 'myp-sni-fit'  # validated
        # no lead bromide or chloride set holds the published cyclohexylammonium cells (2026-11-27): the
        # protocols refuse, and say why
        for halide in ('Br', 'Cl'):
            with pytest.raises(MissingParametersError, match=f'no validated parameter set covers {halide}, Pb'):
                resolve_parameter_set(chosen['parameter_set'], {'Pb', halide})


def test_every_parametrising_command_reports_runs_default_force_field():
    """parametrise, run, validate and build --relax say in their help which force field they use by default:
    the parametrisation of `run`'s default protocol."""
    from aiida_perovskite.cli import cmd_root
    from aiida_perovskite.workflows.protocols.utils import default_force_field

    protocol = MaterialWorkChain.get_default_protocol()
    expected = ParametriseWorkChain.get_protocol_inputs(protocol)
    assert (expected['parameter_set'], expected['charge_model']) == ('myp-pbi-uffi, auto', 'formal')
    summary = default_force_field()['summary']
    assert f'"{expected["parameter_set"]}", {expected["charge_model"]} ion charges' in summary
    assert f'the {protocol} protocol' in summary
    for name in ('parametrise', 'run', 'validate', 'build'):
        command = cmd_root.commands[name]
        texts = [command.help or ''] + [getattr(param, 'help', None) or '' for param in command.params]
        assert sum(summary in text for text in texts) == 1, name
    assert next(param for param in cmd_root.commands['run'].params if param.name == 'protocol').default == protocol
    # validate's own protocol parametrises as run's does.
    assert ValidationWorkChain.get_default_protocol() == protocol


#: Each protocol default and the pattern that finds where it is written as a value (a YAML key, a dict
#: entry, a keyword or option default): ``cutoff: float = 12.0`` and ``'--cutoff', default=12.0`` count.
DEFAULTS = {
    'cut-off (12 A)': r'cutoff[^\n]{0,40}?[:=]\s*12(\.0*)?\b',
    'PPPM accuracy (1e-5)': r'kspace_accuracy[^\n]{0,40}?[:=]\s*1(\.0*)?e-0*5\b',
    'time step (1 fs)': r'timestep[^\n]{0,40}?[:=]\s*1(\.0*)?\b',
    'temperature ladder': r'temperatures[^\n]{0,40}?[:=]\s*\[\s*\d+(\.\d*)?\s*,',
    'validation box width (12 A)': r'min.width[^\n]{0,60}?[:=]\s*12(\.0*)?\b',
    'replication (3x3x3)': r'\[\s*3\s*,\s*3\s*,\s*3\s*\]|\(\s*3\s*,\s*3\s*,\s*3\s*\)',
}


@pytest.mark.parametrize('name', sorted(DEFAULTS))
def test_each_protocol_default_is_defined_in_one_file(name):
    pattern = re.compile(DEFAULTS[name])
    files = sorted(str(path.relative_to(PACKAGE)) for path in PACKAGE.rglob('*')
                   if path.suffix in ('.py', '.yaml') and pattern.search(path.read_text()))
    owner = {'time step (1 fs)': 'ladder', 'temperature ladder': 'ladder', 'validation box width (12 A)': 'validation'}
    assert files == [f'workflows/protocols/{owner.get(name, "parametrise")}.yaml'], files
