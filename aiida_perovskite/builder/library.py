"""The bundled list of well-known spacers (``spacers.yaml``): name, abbreviation, SMILES and phase."""

from __future__ import annotations

import functools
import pathlib

from .errors import BuildError

__all__ = ('find_spacer', 'load_spacers')

SPACERS_FILE = pathlib.Path(__file__).with_name('spacers.yaml')


@functools.lru_cache(maxsize=1)
def _spacers() -> tuple[dict, ...]:
    import yaml

    with SPACERS_FILE.open() as handle:
        return tuple(dict(entry) for entry in yaml.safe_load(handle)['spacers'])


def load_spacers() -> list[dict]:
    """Every bundled spacer as ``{'name', 'abbreviation', 'smiles', 'phase'}``, in file order."""
    return [dict(entry) for entry in _spacers()]


def find_spacer(key: str) -> dict:
    """The bundled spacer whose abbreviation or name is ``key`` (case-insensitive)."""
    wanted = key.strip().lower()
    for entry in _spacers():
        if wanted in (entry['abbreviation'].lower(), entry['name'].lower()):
            return dict(entry)
    known = ', '.join(entry['abbreviation'] for entry in _spacers())
    raise BuildError(f'no bundled spacer called {key!r}; known abbreviations: {known}')
