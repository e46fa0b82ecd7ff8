"""``aiida-perovskite build``: the CIF it writes, the bundled list and the errors it reports."""

from click.testing import CliRunner

from aiida_perovskite.cli import cmd_root
from aiida_perovskite.structure import inspect_cif


def test_build_bundled_spacer(tmp_path):
    output = tmp_path / 'out' / 'bda.cif'
    result = CliRunner().invoke(cmd_root, ['build', '--name', 'BDA', '-o', str(output)])
    assert result.exit_code == 0, result.output
    # the default herringbone cell: two octahedra per layer, so two diammonium spacers
    assert f'wrote {output}: C4H14I4N2Pb, [NH3+]CCCC[NH3+] (+2) x2, a = 8.77 A' in result.output
    assert inspect_cif(output).spacers[0].smiles == '[NH3+]CCCC[NH3+]'


def test_packing_rotation_and_torsion_options(tmp_path):
    runner = CliRunner()
    flat = tmp_path / 'flat.cif'
    result = runner.invoke(cmd_root, ['build', '--name', 'PEA', '--packing', 'parallel', '-o', str(flat)])
    assert result.exit_code == 0, result.output
    assert '(+1) x2, a = 6.34 A' in result.output  # one flat octahedron per cell
    turned = tmp_path / 'turned.cif'
    result = runner.invoke(cmd_root, ['build', '--name', 'PEA', '--octahedral-rotation', '20', '--head-torsion', '180',
                                      '-o', str(turned)])
    assert result.exit_code == 0, result.output
    assert '(+1) x4, a = 8.43 A' in result.output  # 2 sqrt(2) x 3.17 A x cos(20 degrees)
    result = runner.invoke(cmd_root, ['build', '--name', 'PEA', '--packing', 'parallel', '--octahedral-rotation', '5',
                                      '-o', str(tmp_path / 'x.cif')])
    assert result.exit_code == 1 and 'needs packing herringbone' in result.output
    result = runner.invoke(cmd_root, ['build', '--name', 'PEA', '--head-torsion', 'twisted', '-o', str(tmp_path / 'x.cif')])
    assert result.exit_code == 1 and "head_torsion must be auto or an angle in degrees, not 'twisted'" in result.output
    assert not (tmp_path / 'x.cif').exists()


def test_build_smiles_default_file_name(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cmd_root, ['build', '--spacer', 'CCCN', '--halide', 'Br', '--n', '2'])
    assert result.exit_code == 0, result.output
    assert (tmp_path / 'spacer_pbbr_rp_n2.cif').is_file()
    assert inspect_cif(tmp_path / 'spacer_pbbr_rp_n2.cif').n_layers == 2


def test_list():
    result = CliRunner().invoke(cmd_root, ['build', '--list'])
    assert result.exit_code == 0
    assert 'phenethylammonium' in result.output and 'NCC1CCNCC1' in result.output


def test_errors_are_messages_not_tracebacks(tmp_path):
    runner = CliRunner()
    cases = {
        ('--spacer', 'C1CC('): "invalid SMILES 'C1CC('",
        ('--spacer', 'c1ccccc1'): 'has no ammonium group',
        ('--spacer', 'CCCCN', '--phase', 'DJ'): 'it fits phase RP',
        ('--spacer', 'NCC(c1ccccc1)(c1ccccc1)c1ccccc1'): 'too large for phase RP',
        ('--name', 'XYZ'): 'no bundled spacer called',
    }
    for arguments, message in cases.items():
        result = runner.invoke(cmd_root, ['build', *arguments, '-o', str(tmp_path / 'x.cif')])
        assert result.exit_code == 1, (arguments, result.output)
        assert message in result.output and 'Traceback' not in result.output
    assert not (tmp_path / 'x.cif').exists()
    result = runner.invoke(cmd_root, ['build'])
    assert result.exit_code == 2 and 'exactly one of --spacer SMILES or --name NAME' in result.output
    result = runner.invoke(cmd_root, ['build', '--name', 'BA', '--relax'])
    assert result.exit_code == 2 and '--relax runs AiiDA work chains' in result.output


def test_profile_records_the_calcfunction(tmp_path, aiida_profile):
    from aiida import orm

    output = tmp_path / 'pea.cif'
    result = CliRunner().invoke(cmd_root, ['build', '--name', 'PEA', '--profile', aiida_profile.name, '-o', str(output)])
    assert result.exit_code == 0, result.output
    pk = int(result.output.split('calcfunction<')[1].split('>')[0])
    node = orm.load_node(pk)
    assert node.process_label == 'build_perovskite' and node.inputs.smiles.value == 'NCCc1ccccc1'
    with node.outputs.cif.open(mode='r') as handle:
        assert handle.read() == output.read_text()


def test_relax_runs_parametrisation_and_300_k(tmp_path, aiida_profile, aiida_localhost):
    """--relax end to end on a tiny run (Gasteiger charges, 100 + 100 steps): the relaxed supercell is
    written and still decomposes to the spacer, and the lattice per cell is printed."""
    from aiida_perovskite.tools.codes import register_local_codes

    register_local_codes(aiida_localhost)
    output = tmp_path / 'ba.cif'
    result = CliRunner().invoke(cmd_root, [
        'build', '--name', 'BA', '--profile', aiida_profile.name, '-o', str(output),
        '--relax', '--relax-steps', '100', '--relax-charges', 'gas',
    ])
    assert result.exit_code == 0, result.output
    assert 'per cell at 300 K' in result.output and 'two-layer period' in result.output
    # The default protocol's force field, as `run`'s, with the spacer charges asked for.
    assert 'parametrisation (myp-pbi-uffi, auto, formal ion charges, gas spacer charges)' in result.output
    relaxed = inspect_cif(tmp_path / 'ba_relaxed.cif')
    assert [(s.smiles, s.count) for s in relaxed.spacers] == [('CCCC[NH3+]', 32)]  # 2 x 2 x 2 herringbone cells


def test_several_spacers_build_the_good_ones_and_report_each_bad_one(tmp_path):
    folder = tmp_path / 'built'
    result = CliRunner().invoke(cmd_root, ['build', '--name', 'BA', '--spacer', 'C1CC(', '--name', 'XYZ',
                                           '--spacer', 'CCCN', '-o', str(folder)])
    assert result.exit_code == 1 and 'Traceback' not in result.output
    assert sorted(path.name for path in folder.iterdir()) == ['ba_pbi_rp_n1.cif', 'spacer_pbi_rp_n1.cif']
    assert inspect_cif(folder / 'spacer_pbi_rp_n1.cif').spacers[0].smiles == 'CCC[NH3+]'
    bad = [line for line in result.stderr.splitlines()]
    assert len(bad) == 2
    assert bad[0].startswith("C1CC(: BuildError: invalid SMILES 'C1CC('")
    assert bad[1].startswith('XYZ: BuildError: no bundled spacer called')
    refused = CliRunner().invoke(cmd_root, ['build', '--name', 'BA', '--name', 'PEA', '-o', str(tmp_path / 'x.cif')])
    assert refused.exit_code == 2 and 'with several spacers -o is the folder the CIFs go in' in refused.output
