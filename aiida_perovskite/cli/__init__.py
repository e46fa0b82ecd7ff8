"""Command line interface: ``aiida-perovskite``.

The group lives in :mod:`.root`; each command module defines plain click commands with the shared
options of :mod:`.params`, and this module adds them to the group (no module imports the group
back). Commands import heavy modules (AiiDA, pymatgen) only when they run, so
``aiida-perovskite --help`` is instant and commands that need no AiiDA profile (``inspect``)
never load one.
"""

from .build import cmd_build
from .inspect import cmd_inspect
from .learn import cmd_dataset, cmd_screen, cmd_train, cmd_train_network
from .parametrise import cmd_parametrise
from .potential import cmd_potential
from .predict import cmd_predict
from .report import cmd_export, cmd_graph, cmd_report
from .root import cmd_root
from .run import cmd_run, cmd_status
from .setup import cmd_setup
from .validate import cmd_validate

#: The commands, in the order of the workflow: set up, look at CIFs, simulate, learn, report.
COMMANDS = (cmd_setup, cmd_inspect, cmd_build, cmd_predict, cmd_parametrise, cmd_validate, cmd_run, cmd_status, cmd_dataset,
            cmd_train, cmd_train_network, cmd_screen, cmd_potential, cmd_report, cmd_export, cmd_graph)
for command in COMMANDS:
    cmd_root.add_command(command)

__all__ = ('COMMANDS', 'cmd_root')
