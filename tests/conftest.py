"""Shared fixtures: a temporary AiiDA profile (SQLite, no broker), synthetic cells and the shared data."""

from __future__ import annotations

import pathlib

import pytest

from aiida_perovskite.build import alkylammonium, layered_perovskite

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
    """(BDA)PbI4 as an ideal-geometry Dion-Jacobson cell (orthogonal, 24 atoms)."""
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
