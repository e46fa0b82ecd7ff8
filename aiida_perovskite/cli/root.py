"""The ``aiida-perovskite`` command group; :mod:`aiida_perovskite.cli` adds the commands to it."""

import click

from aiida_perovskite import __version__


@click.group('aiida-perovskite', context_settings={'help_option_names': ['-h', '--help']})
@click.version_option(__version__, prog_name='aiida-perovskite')
def cmd_root():
    """From CIFs of 2D hybrid perovskites to simulated properties and ML predictions, with AiiDA provenance."""
