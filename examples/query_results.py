"""Query a group's results with QueryBuilder: ``verdi run examples/query_results.py [GROUP]``.

GROUP is the label given to ``aiida-perovskite run --group`` (default ``demo``, the group of
``make demo``; ``verdi -p perovskite run ...`` selects the demo's profile). One query walks
group -> finished MaterialWorkChain -> its CIF and its targets node and projects only the
attributes needed, so it stays fast on thousands of materials and works on an imported archive.
Prints the materials ranked by Cp(U) with V_atom at each temperature.
"""

import sys

from aiida import orm

label = sys.argv[1] if len(sys.argv) > 1 else 'demo'

builder = orm.QueryBuilder()
builder.append(orm.Group, filters={'label': label}, tag='group')
builder.append(orm.WorkChainNode, with_group='group', tag='material', project=['id', 'extras.protocol'],
               filters={'attributes.process_label': 'MaterialWorkChain', 'attributes.exit_status': 0})
builder.append(orm.CifData, with_outgoing='material', edge_filters={'label': 'cif'}, project=['attributes.filename'])
builder.append(orm.Dict, with_incoming='material', edge_filters={'label': 'targets'},
               project=['attributes.cp_u', 'attributes.temperatures', 'attributes.v_atom', 'attributes.flags'])

rows = builder.all()
if not rows:
    sys.exit(f'no finished material in a group labelled {label!r} (see `aiida-perovskite status --group {label}`)')
rows.sort(key=lambda row: (row[3] is None, -(row[3] or 0.0)))
print(f'{len(rows)} finished material(s) in group {label}, largest Cp(U) first (kcal/mol/K per atom; V_atom in A^3):')
for pk, protocol, filename, cp_u, temperatures, v_atom, flags in rows:
    raised = [name for name, value in flags.items() if value]
    volumes = ', '.join(f'{t:g} K {v:.3f}' for t, v in zip(temperatures, v_atom))
    cp_text = '-' if cp_u is None else f'{cp_u:.3e}'
    print(f'  {filename:28s} MaterialWorkChain<{pk}> {protocol or "":9s} Cp(U) {cp_text:>10s}  V_atom: {volumes}'
          + (f'  flags: {", ".join(raised)}' if raised else ''))
