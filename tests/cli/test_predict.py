"""``aiida-perovskite predict``: its options and its one-line refusals (the real search is tested in
tests/workflows/test_search.py; a full predict run takes minutes)."""

from click.testing import CliRunner

from aiida_perovskite.cli import cmd_root


def test_help_names_the_options():
    result = CliRunner().invoke(cmd_root, ['predict', '--help'])
    assert result.exit_code == 0
    for option in ('--spacer', '--metal', '--halide', '--phase', '--candidates', '--keep', '--mlip', '--compare',
                   '--output'):
        assert option in result.output


def test_bad_reference_is_one_line(tmp_path):
    missing = tmp_path / 'missing.cif'
    result = CliRunner().invoke(cmd_root, ['predict', '--spacer', 'CCCCN', '--compare', str(missing)])
    assert result.exit_code == 1 and result.output.strip() == f'Error: {missing}: no such file'
    bad = tmp_path / 'bad.cif'
    bad.write_text('not a cif at all\n')
    result = CliRunner().invoke(cmd_root, ['predict', '--spacer', 'CCCCN', '--compare', str(bad)])
    assert result.exit_code == 1 and result.output.startswith(f'Error: {bad}: not a readable CIF')
    assert len(result.output.strip().splitlines()) == 1
