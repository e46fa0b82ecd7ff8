"""Shared fixtures: a temporary AiiDA profile (SQLite, no broker), synthetic cells and the shared data."""

from __future__ import annotations

import pathlib

import pytest

from aiida_perovskite.builder import alkylammonium, layered_perovskite

pytest_plugins = ['aiida.tools.pytest_fixtures']

#: The project's shared test data lives beside the checkout; it is never copied into the repository.
SHARED_DATA = pathlib.Path(__file__).resolve().parents[1].parent / 'shared' / 'data'


@pytest.fixture(scope='session')
def shared_data() -> pathlib.Path:
    """``../shared/data``, or a skip that says why when it is not beside the checkout."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f'needs the shared data folder {SHARED_DATA} beside the checkout (absent here)')
    return SHARED_DATA


@pytest.fixture
def butylammonium_rp():
    """(BA)2PbI4 as an ideal-geometry Ruddlesden-Popper cell (monoclinic, 39 atoms)."""
    return layered_perovskite(alkylammonium(4), phase='RP')


@pytest.fixture
def butanediammonium_dj():
    """(BDA)PbI4 as an ideal-geometry Dion-Jacobson cell (orthogonal, 25 atoms)."""
    return layered_perovskite(alkylammonium(4, diammonium=True), phase='DJ')


@pytest.fixture
def write_cif(tmp_path):
    """Write a pymatgen structure (or CIF text) to ``tmp_path/<name>`` and return the path."""

    def write(structure_or_text, name: str = 'structure.cif') -> pathlib.Path:
        path = tmp_path / name
        if isinstance(structure_or_text, str):
            path.write_text(structure_or_text)
        else:
            structure_or_text.to(filename=str(path))
        return path

    return write


@pytest.fixture
def amber_codes(aiida_localhost):
    """antechamber, parmchk2 and tleap from this virtualenv, registered on the test computer."""
    from aiida_perovskite.tools.codes import register_local_codes

    codes = register_local_codes(aiida_localhost)
    return {tool: codes[tool] for tool in ('antechamber', 'parmchk2', 'tleap')}


@pytest.fixture
def cif_node():
    """A stored-ready ``CifData`` of a pymatgen structure (or of a file path)."""
    import io

    from aiida import orm
    from pymatgen.io.cif import CifWriter

    def make(structure_or_path, filename: str = 'structure.cif'):
        if isinstance(structure_or_path, (str, pathlib.Path)):
            return orm.CifData(file=str(structure_or_path), filename=pathlib.Path(structure_or_path).name)
        return orm.CifData(file=io.BytesIO(str(CifWriter(structure_or_path)).encode()), filename=filename)

    return make


def local_computer(label: str, workdir):
    """A stored localhost computer (direct scheduler, no polling delays) and the project's codes on it,
    ``(computer, codes)``, for module-scoped fixtures that cannot use the function-scoped ``aiida_localhost``."""
    from aiida import orm

    from aiida_perovskite.tools.codes import register_local_codes

    computer = orm.Computer(label=label, hostname='localhost', transport_type='core.local',
                            scheduler_type='core.direct', workdir=str(workdir)).store()
    computer.configure(safe_interval=0)
    computer.set_minimum_job_poll_interval(0.0)
    return computer, register_local_codes(computer)

