"""The documentation builds with Sphinx, warnings as errors, as CI builds it."""

import pathlib
import subprocess
import sys

DOCS = pathlib.Path(__file__).resolve().parents[1] / 'docs' / 'source'


def test_docs_build_without_warnings(tmp_path):
    sphinx = pathlib.Path(sys.executable).with_name('sphinx-build')
    completed = subprocess.run([str(sphinx), '-W', '--keep-going', '-q', '-b', 'html', str(DOCS), str(tmp_path / 'html')],
                               capture_output=True, text=True, timeout=600)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert (tmp_path / 'html' / 'index.html').is_file()
    api = (tmp_path / 'html' / 'api.html').read_text()
    for name in ('MaterialWorkChain', 'TrainedModelData', 'read_cif', 'group_report'):
        assert name in api, f'{name} missing from the API reference (autodoc could not import its module?)'
    index = (tmp_path / 'html' / 'index.html').read_text()
    assert 'howto/cluster.html' in index and 'howto/restarting.html' in index
