"""Run one material through the fast protocol: ``verdi run examples/run_one_material.py [CIF] [GROUP]``.

Needs a profile with the codes registered (``aiida-perovskite setup`` makes both; ``make demo``
makes the ``perovskite`` profile: ``verdi -p perovskite run examples/run_one_material.py``).
Without arguments it runs the bundled (BA)2PbI4 cell (about a minute on one core) in this process
and, if GROUP is given, puts the MaterialWorkChain in that group as ``aiida-perovskite run`` does,
so ``report``, ``dataset`` and ``train`` see it. Shows how protocol overrides are passed.
"""

import pathlib
import sys

from aiida import orm
from aiida.engine import run_get_node

from aiida_perovskite.tools.codes import load_codes
from aiida_perovskite.tools.materials import cif_md5, register_material
from aiida_perovskite.workflows.material import MaterialWorkChain

# ``verdi run`` puts the script's own path in sys.argv[0] (``__file__`` is not the script there).
HERE = pathlib.Path(sys.argv[0]).resolve().parent
path = pathlib.Path(sys.argv[1]) if len(sys.argv) > 1 else HERE / 'structures' / 'ba2pbi4_rp_n1.cif'
group_label = sys.argv[2] if len(sys.argv) > 2 else None

cif = orm.CifData(file=str(path.resolve()), filename=path.name)
# Overrides change single settings of a protocol (aiida_perovskite/workflows/protocols/parametrise.yaml, ladder.yaml):
# here the fast protocol's two temperatures are kept and its Gasteiger charges named explicitly.
overrides = {'parametrise': {'charge_method': 'gas'}, 'ladder': {'temperatures': [250, 300]}}
builder = MaterialWorkChain.get_builder_from_protocol(load_codes(), cif, 'fast', overrides=overrides)
results, node = run_get_node(builder)
if group_label:
    group, _ = orm.Group.collection.get_or_create(group_label)
    register_material(node, group, cif_md5(path), 'fast', path)
if not node.is_finished_ok:
    sys.exit(f'{path.name}: MaterialWorkChain<{node.pk}> failed [{node.exit_status}] {node.exit_message}')

targets = results['targets'].get_dict()
print(f'{path.name}: MaterialWorkChain<{node.pk}> finished; Cp(U) = {targets["cp_u"]:.3e} kcal/mol/K per atom')
for temperature, v_atom in zip(targets['temperatures'], targets['v_atom']):
    print(f'  {temperature:g} K: V_atom = {v_atom:.3f} A^3 per atom')
print(f'provenance: aiida-perovskite graph --material {node.pk} -o {path.stem}.svg')
