"""OpenBabel and parmed in one long-lived process (a daemon worker, a test session)."""

import subprocess
import sys

import pytest

#: What a worker does: read a molecule through the package, read a topology (parmed's compiled reader), then
#: build a cell (pybel).
SCRIPT = """
{first}
import parmed.amber._rdparm
from openbabel import pybel
print(pybel.readstring('smi', 'CCCC[NH3+]').write('can').split()[0])
"""


@pytest.mark.parametrize(('first', 'survives'), [
    ('from aiida_perovskite.structure.smiles import canonicalise; canonicalise("CCCCN")', True),
    ('from openbabel import openbabel', False),  # the bare bindings first: the order the package avoids
])
def test_pybel_after_parmed_survives_the_package_bindings(first, survives):
    completed = subprocess.run([sys.executable, '-c', SCRIPT.format(first=first)], capture_output=True, text=True,
                               timeout=120)
    if survives:
        assert completed.returncode == 0, completed.stderr[-2000:]
        assert completed.stdout.split() == ['CCCC[NH3+]']
    else:  # the hazard is real (if a future OpenBabel or parmed fixes it, this check says so and can go)
        assert completed.returncode != 0 and 'free(): invalid pointer' in completed.stderr, completed.stderr[-2000:]
