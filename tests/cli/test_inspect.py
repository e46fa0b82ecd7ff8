"""``aiida-perovskite inspect`` on a batch of good and bad files."""

import json
import subprocess
import sys

from click.testing import CliRunner

from aiida_perovskite.cli import cmd_root


def make_batch(tmp_path, butylammonium_rp, butanediammonium_dj):
    folder = tmp_path / 'batch'
    (folder / 'nested').mkdir(parents=True)
    butylammonium_rp.to(filename=str(folder / 'ba2pbi4.cif'))
    butanediammonium_dj.to(filename=str(folder / 'nested' / 'bdapbi4.CIF'))
    (folder / 'broken.cif').write_text('data_broken\n_cell_length_a 5\n')
    stripped = butanediammonium_dj.copy()
    nitrogen = next(i for i, site in enumerate(stripped) if site.specie.symbol == 'N')
    stripped.remove_sites([n.index for n in stripped.get_neighbors(stripped[nitrogen], 1.2) if n.specie.symbol == 'H'])
    stripped.to(filename=str(folder / 'stripped.cif'))
    (folder / 'notes.txt').write_text('not a CIF, not picked up from a folder')
    return folder


def test_json_batch_reports_every_file(tmp_path, butylammonium_rp, butanediammonium_dj):
    folder = make_batch(tmp_path, butylammonium_rp, butanediammonium_dj)
    missing = tmp_path / 'missing.cif'
    result = CliRunner().invoke(cmd_root, ['inspect', '--json', str(folder), str(missing)])
    assert result.exit_code == 1
    records = {record['file'].split('/')[-1]: record for record in json.loads(result.stdout)}
    assert sorted(records) == ['ba2pbi4.cif', 'bdapbi4.CIF', 'broken.cif', 'missing.cif', 'stripped.cif']

    good = records['ba2pbi4.cif']
    assert good['ok'] and good['error'] is None
    assert [(s['smiles'], s['charge'], s['count']) for s in good['spacers']] == [('CCCC[NH3+]', 1, 2)]
    assert (good['stacking_axis'], good['n_layers']) == ('c', 1)
    assert 8 < good['interlayer_distance'] < 9
    assert records['bdapbi4.CIF']['spacers'][0]['smiles'] == '[NH3+]CCCC[NH3+]'

    errors = {name: record['error']['class'] for name, record in records.items() if not record['ok']}
    assert errors == {
        'broken.cif': 'UnreadableCifError',
        'missing.cif': 'UnreadableCifError',
        'stripped.cif': 'MissingHydrogenError',
    }
    for name in errors:
        assert records[name]['spacers'] == [] and records[name]['error']['message']


def test_table_has_a_row_per_file(tmp_path, butylammonium_rp, butanediammonium_dj):
    folder = make_batch(tmp_path, butylammonium_rp, butanediammonium_dj)
    result = CliRunner().invoke(cmd_root, ['inspect', str(folder)])
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    ba = next(line for line in lines if 'ba2pbi4.cif' in line)
    assert 'CCCC[NH3+]' in ba and '+1' in ba and ' c ' in ba
    assert 'MissingHydrogenError' in next(line for line in lines if 'stripped.cif' in line)
    assert '4 file(s): 2 decomposed, 2 failed' in result.stderr


def test_all_good_exits_zero(tmp_path, butylammonium_rp):
    path = tmp_path / 'ba.cif'
    butylammonium_rp.to(filename=str(path))
    result = CliRunner().invoke(cmd_root, ['inspect', str(path)])
    assert result.exit_code == 0, result.output


def test_console_script_runs(tmp_path, butylammonium_rp):
    """The installed entry point, in a fresh process."""
    path = tmp_path / 'ba.cif'
    butylammonium_rp.to(filename=str(path))
    script = [sys.executable, '-c', 'from aiida_perovskite.cli import cmd_root; cmd_root()']
    completed = subprocess.run([*script, 'inspect', '--json', str(path)], capture_output=True, text=True, check=True)
    assert json.loads(completed.stdout)[0]['spacers'][0]['count'] == 2


def test_disorder_major_reads_a_disordered_file_and_says_what_it_kept(tmp_path, butylammonium_rp):
    from tests.structure.test_disorder import disordered_cif

    path = tmp_path / 'disordered.cif'
    path.write_text(disordered_cif(butylammonium_rp))
    refused = CliRunner().invoke(cmd_root, ['inspect', str(path)])
    assert refused.exit_code == 1 and 'DisorderError' in refused.output and '--disorder major' in refused.output

    result = CliRunner().invoke(cmd_root, ['inspect', '--disorder', 'major', '--json', str(path)])
    assert result.exit_code == 0, result.output
    assert f'{path}: disorder resolved to its major component: kept group 1 of assembly A' in result.stderr
    (record,) = json.loads(result.stdout)
    assert record['ok'] and [(s['smiles'], s['count']) for s in record['spacers']] == [('CCCC[NH3+]', 2)]
    assert record['disorder']['assemblies'] == {'A': {'groups': {'1': 0.7, '2': 0.3}, 'kept': '1', 'tie': False}}


def test_hydrogens_add_completes_a_bare_file_and_says_so(tmp_path, butylammonium_rp):
    from tests.structure.test_hydrogens import stripped_cif

    path = tmp_path / 'bare.cif'
    path.write_text(stripped_cif(butylammonium_rp))
    result = CliRunner().invoke(cmd_root, ['inspect', '--hydrogens', 'add', str(path)])
    assert result.exit_code == 0, result.output
    assert f'{path}: hydrogens added at riding positions: 24 H to 2 molecule(s) (CCCC[NH3+] x2)' in result.stderr
    assert 'CCCC[NH3+]' in result.stdout
