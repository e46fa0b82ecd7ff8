"""Store a CIF and decompose it with provenance: ``verdi run examples/decompose_with_aiida.py [CIF]``.

Needs an AiiDA profile (``verdi presto`` makes one in seconds). Prints the
spacers and the nodes created, which QueryBuilder and ``verdi node graph
generate`` can follow back to the CIF.
"""

import pathlib
import sys

from aiida import orm

from aiida_perovskite.calculations.functions.decompose import decompose_cif

# ``verdi run`` puts the script's own path in sys.argv[0] (``__file__`` is not the script there).
HERE = pathlib.Path(sys.argv[0]).resolve().parent
path = pathlib.Path(sys.argv[1]) if len(sys.argv) > 1 else HERE / 'structures' / 'ba2pbi4_rp_n1.cif'
cif = orm.CifData(file=str(path.resolve()), filename=path.name)
results, node = decompose_cif.run_get_node(cif)
if not node.is_finished_ok:
    print(f'{path}: failed with exit status {node.exit_status}: {node.exit_message}')
    sys.exit(1)

record = results['decomposition'].get_dict()
print(f'{path.name}: {record["formula"]}, stacking along {record["stacking_axis"]}, n = {record["n_layers"]}, '
      f'inter-layer distance {record["interlayer_distance"]:.2f} A')
for spacer in record['spacers']:
    print(f'  spacer {spacer["smiles"]} (charge {spacer["charge"]:+d}) x {spacer["count"]}')
print(f'CIF node {cif.pk} -> calcfunction {node.pk} -> structure {results["structure"].pk}, '
      f'record {results["decomposition"].pk}')
