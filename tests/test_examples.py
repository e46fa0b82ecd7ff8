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


def test_example_structures_regenerate_byte_identical(tmp_path):
    """``make demo`` rewrites examples/structures with this script: it must leave the committed files as they are."""
    import importlib.util

    script = next(path for path in EXAMPLES if path.name == 'make_example_structures.py')
    spec = importlib.util.spec_from_file_location('make_example_structures', script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.main(tmp_path)

    committed = script.parent / 'structures'
    assert sorted(path.name for path in tmp_path.glob('*.cif')) == sorted(path.name for path in committed.glob('*.cif'))
    changed = [path.name for path in sorted(tmp_path.glob('*.cif')) if path.read_bytes() != (committed / path.name).read_bytes()]
    assert not changed, f'regenerating the examples changes {changed}: the CIF writing is not deterministic'
