"""Every script in examples/ compiles and says how to run it (those needing a group run in tests/workflows)."""

import pathlib
import py_compile

import pytest

EXAMPLES = sorted((pathlib.Path(__file__).resolve().parents[1] / 'examples').glob('*.py'))


def test_there_are_examples():
    names = {path.name for path in EXAMPLES}
    assert {'run_one_material.py', 'query_results.py', 'trace_a_model.py'} <= names


@pytest.mark.parametrize('path', EXAMPLES, ids=lambda path: path.name)
def test_example_compiles_and_documents_how_to_run_it(path, tmp_path):
    import ast

    py_compile.compile(str(path), cfile=str(tmp_path / 'compiled.pyc'), doraise=True)
    docstring = ast.get_docstring(ast.parse(path.read_text())) or ''
    assert 'verdi run examples/' in docstring or 'python examples/' in docstring, f'{path.name}: no "how to run" line'
