"""Command line interface: ``aiida-perovskite``.

Commands import heavy modules (AiiDA, pymatgen) only when they run, so
``aiida-perovskite --help`` is instant and commands that need no AiiDA
profile (``inspect``) never load one.
"""

import click

from aiida_perovskite import __version__


@click.group('aiida-perovskite', context_settings={'help_option_names': ['-h', '--help']})
@click.version_option(__version__, prog_name='aiida-perovskite')
def cmd_root():
    """From CIFs of 2D hybrid perovskites to simulated properties and ML predictions, with AiiDA provenance."""


from . import build, inspect, learn, parametrise, report, run, setup, validate  # noqa: E402,F401  (each registers its command on the group)
