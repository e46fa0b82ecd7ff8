"""A benchmark's own AiiDA profile: made by ``aiida-perovskite setup`` in the folder ``AIIDA_PATH`` names.

The caller sets ``os.environ['AIIDA_PATH']`` (a temporary folder) before anything imports aiida.
"""

from __future__ import annotations

import pathlib
import subprocess
import sys


def open_private_profile(profile: str) -> bool:
    """Set up ``profile`` with the product's codes and load it, AiiDA's own logging at WARNING.

    :returns: False, after printing ``setup``'s output, when the setup failed.
    """
    setup = subprocess.run([str(pathlib.Path(sys.executable).with_name('aiida-perovskite')), 'setup',
                            '--profile', profile], capture_output=True, text=True)
    if setup.returncode:
        print(f'`aiida-perovskite setup` failed:\n{setup.stdout}{setup.stderr}')
        return False
    from aiida import load_profile
    from aiida.manage.configuration import get_config

    get_config().set_option('logging.aiida_loglevel', 'WARNING', scope=profile)  # no per-step REPORT lines
    load_profile(profile, allow_switch=True)
    return True
