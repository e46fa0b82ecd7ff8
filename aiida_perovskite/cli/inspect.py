"""``aiida-perovskite inspect``: validate and decompose CIFs, one row (or JSON record) per file."""

from __future__ import annotations

import json
import sys

import click

from .common import Batch
from .params import CIF_PATHS, reading_options


@click.command('inspect')
@CIF_PATHS
@click.option('--json', 'as_json', is_flag=True, help='Print a JSON list with one record per file.')
@click.option('--tolerance', type=float, default=0.4, show_default=True,
              help='Bond tolerance added to the sum of covalent radii (Angstrom).')
@reading_options
def cmd_inspect(paths, as_json, tolerance, reading):
    """Validate and decompose the CIF files in PATHS (files or folders, searched recursively).

    Each file gets a row: formula, spacer SMILES with charge and copies per
    cell, stacking axis, layers per slab (n) and inter-layer distance; or the
    file's error, also on one line of stderr (file, error class, message). A
    bad file never stops the others. The exit status is 1 when any file failed.
    With --disorder major or --hydrogens add, what was kept or added is said on stderr.
    """
    from aiida_perovskite.structure.decompose import reading_notes
    from aiida_perovskite.structure.report import inspect_many, records_table

    batch = Batch(paths)
    files = batch.items
    if not files:
        raise click.UsageError(f'no CIF files found in {", ".join(map(str, paths))}')

    show_progress = sys.stderr.isatty() and len(files) > 20
    with click.progressbar(length=len(files), label='Inspecting', file=sys.stderr, hidden=not show_progress) as bar:
        records = list(inspect_many(files, tolerance=tolerance, progress=bar.update, **reading))

    if as_json:
        click.echo(json.dumps(records, indent=2))
    else:
        click.echo(records_table(records))
    for record in records:
        for note in reading_notes(record):
            click.echo(f'{record["file"]}: {note}', err=True)
        if not record['ok']:
            batch.fail(record['file'], record['error']['class'], record['error']['message'])
    click.echo(f'{len(records)} file(s): {len(records) - batch.failed} decomposed, {batch.failed} failed', err=True)
    batch.exit()

