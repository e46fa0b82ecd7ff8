"""Batch inspection: one JSON-ready record per file, whatever goes wrong with any of them."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from .decompose import Decomposition, inspect_cif
from .errors import StructureError

__all__ = ('inspect_many', 'record_for', 'records_table')


def record_for(decomposition: Decomposition) -> dict:
    """A compact record of a decomposition (no site indices) for reports and ``--json``."""
    record = decomposition.as_dict()
    for key in ('inorganic_indices', 'slabs'):
        record.pop(key)
    for molecule in record['spacers'] + record['a_site_molecules'] + record['guests']:
        molecule.pop('copies')
    return {'file': decomposition.source, 'ok': True, 'error': None, **record}


def inspect_many(paths: Iterable, progress: Callable[[int], None] | None = None, **kwargs):
    """Yield a record per path; a failed file yields ``ok: False`` and its error, and the batch goes on."""
    for path in paths:
        try:
            record = record_for(inspect_cif(path, **kwargs))
        except StructureError as error:
            record = _failure(path, type(error).__name__, error.code, error.message)
        except Exception as error:  # an unforeseen failure must not lose the rest of the batch
            record = _failure(path, type(error).__name__, 'internal_error',
                              f'unexpected failure (please report it): {error}')
        if progress:
            progress(1)
        yield record


def _failure(path, name: str, code: str, message: str) -> dict:
    return {
        'file': str(path), 'ok': False,
        'error': {'class': name, 'code': code, 'message': message},
        'spacers': [], 'stacking_axis': None, 'n_layers': None, 'interlayer_distance': None,
    }


def records_table(records: list[dict]) -> str:
    """A plain-text table with one row per record (several lines for several unique spacers)."""
    from tabulate import tabulate

    rows = []
    for record in records:
        if not record['ok']:
            error = record['error']
            rows.append([record['file'], 'FAILED', '', '', '', '', '', '', f'{error["class"]}: {error["message"]}'])
            continue
        # Guests (neutral molecules: water, solvents) are listed after the spacers, marked as such.
        guests = [{**guest, 'smiles': f'{guest["smiles"]} (guest)'} for guest in record.get('guests', [])]
        spacers = (record['spacers'] + guests) or [{'smiles': '-', 'charge': '', 'count': ''}]
        for position, spacer in enumerate(spacers):
            first = position == 0
            rows.append([
                record['file'] if first else '',
                record['formula'] if first else '',
                spacer['smiles'],
                f'{spacer["charge"]:+d}' if spacer['charge'] != '' else '',
                spacer['count'],
                record['stacking_axis'] if first else '',
                record['n_layers'] if first else '',
                f'{record["interlayer_distance"]:.2f}' if first else '',
                '',
            ])
    headers = ['file', 'formula', 'spacer SMILES', 'charge', 'copies', 'stacking', 'n', 'd_inter (A)', 'problem']
    return tabulate(rows, headers=headers, tablefmt='simple', disable_numparse=True)
