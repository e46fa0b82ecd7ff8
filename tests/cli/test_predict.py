"""``aiida-perovskite predict``: its options and its one-line refusals (the real search is tested in
tests/workflows/test_search.py; a full predict run takes minutes)."""

from click.testing import CliRunner

from aiida_perovskite.cli import cmd_root


def test_help_names_the_options():
    result = CliRunner().invoke(cmd_root, ['predict', '--help'])
    assert result.exit_code == 0
    for option in ('--spacer', '--metal', '--halide', '--phase', '--candidates', '--keep', '--mlip', '--compare',
                   '--output', '--anneal', '--preselect'):
        assert option in result.output


def test_anneal_and_preselect_are_checked_before_anything_runs():
    result = CliRunner().invoke(cmd_root, ['predict', '--spacer', 'CCCCN', '--anneal', '0', '1', '100'])
    assert result.exit_code == 2 and "Invalid value for '--anneal'" in result.output
    result = CliRunner().invoke(cmd_root, ['predict', '--spacer', 'CCCCN', '--anneal', '300', '1', '-5'])
    assert result.exit_code == 2 and "Invalid value for '--anneal'" in result.output
    result = CliRunner().invoke(cmd_root, ['predict', '--spacer', 'CCCCN', '--preselect', 'energy'])
    assert result.exit_code == 2 and "'energy' is not one of 'mlip', 'classical'" in result.output


def test_bad_reference_is_one_line(tmp_path):
    missing = tmp_path / 'missing.cif'
    result = CliRunner().invoke(cmd_root, ['predict', '--spacer', 'CCCCN', '--compare', str(missing)])
    assert result.exit_code == 1 and result.output.strip() == f'Error: {missing}: no such file'
    bad = tmp_path / 'bad.cif'
    bad.write_text('not a cif at all\n')
    result = CliRunner().invoke(cmd_root, ['predict', '--spacer', 'CCCCN', '--compare', str(bad)])
    assert result.exit_code == 1 and result.output.startswith(f'Error: {bad}: no "data_" block: this is not a CIF')
    assert len(result.output.strip().splitlines()) == 1


def test_the_reference_is_read_as_every_command_reads_cifs(tmp_path, butylammonium_rp):
    """A reference with a half-occupied spacer is refused with the way out named, before any search starts."""
    from aiida_perovskite.structure import format_cif

    text = format_cif(butylammonium_rp)
    carbon = next(line for line in text.splitlines() if line.split()[:1] == ['C'])
    reference = tmp_path / 'reference.cif'
    reference.write_text(text.replace(carbon, carbon[:-1] + '0.5'))
    result = CliRunner().invoke(cmd_root, ['predict', '--spacer', 'CCCCN', '--compare', str(reference)])
    assert result.exit_code == 1 and result.output.startswith(f'Error: {reference}: 1 partially occupied site(s)')
    assert '--disorder major' in result.output and len(result.output.strip().splitlines()) == 1
