"""Trace a trained model back through the provenance graph: ``verdi run examples/trace_a_model.py MODEL``.

MODEL is the PK or UUID of a ``TrainedModelData`` (printed by ``aiida-perovskite train``). Prints
what the model is, the dataset it learned from, and per training material its CIF, its charge
method, its parameter set (with citation) and the codes that produced its topology and ladder,
all found by QueryBuilder.
"""

import sys

from aiida import orm

from aiida_perovskite.data import DatasetData, LammpsTopologyData, ParameterSetData, TrainedModelData

model = orm.load_node(sys.argv[1])
if not isinstance(model, TrainedModelData):
    sys.exit(f'{sys.argv[1]} is a {type(model).__name__}, not a TrainedModelData')
metrics = model.base.attributes.get('metrics')
print(f'{model.family} model of {model.task} ({model.base.attributes.get("units")}), {len(model.feature_names)} features, '
      f'outer test R2 {metrics["test_r2_mean"]:.3f} +- {metrics["test_r2_std"]:.3f}')
print('libraries:', ', '.join(f'{name} {version}' for name, version in model.base.attributes.get('library_versions').items()))

dataset = orm.QueryBuilder().append(DatasetData, tag='dataset', project='*').append(
    TrainedModelData, with_ancestors='dataset', filters={'id': model.pk}).one()[0]
print(f'learned from DatasetData<{dataset.pk}>: {dataset.base.attributes.get("n_materials")} materials, '
      f'{dataset.base.attributes.get("n_rows")} rows')

# Every CIF upstream of the model, and for each the topology and parameter set it was simulated with.
cifs = orm.QueryBuilder().append(orm.CifData, tag='cif', project='*').append(
    TrainedModelData, with_ancestors='cif', filters={'id': model.pk}).distinct().all(flat=True)
for cif in sorted(cifs, key=lambda node: node.filename):
    builder = orm.QueryBuilder().append(orm.CifData, filters={'id': cif.pk}, tag='cif')
    builder.append(LammpsTopologyData, with_ancestors='cif', tag='topology', project=['attributes.charge_method', 'id'])
    builder.append(ParameterSetData, with_descendants='topology', project=['attributes.name', 'attributes.citations'])
    row = builder.first()
    if row is None:
        print(f'  {cif.filename}: no topology (screened, not simulated)')
        continue
    charge_method, topology_pk, set_name, citations = row
    codes = set()
    for relation in ('with_descendants', 'with_ancestors'):  # the parametrisation before, the MD after
        codes |= set(orm.QueryBuilder().append(LammpsTopologyData, filters={'id': topology_pk}, tag='topology').append(
            orm.CalcJobNode, **{relation: 'topology'}, tag='job').append(
            orm.Code, with_outgoing='job', project='label').distinct().all(flat=True))
    citation = next((text.split('doi:')[-1].strip() for text in citations or [] if 'doi:' in text), 'no DOI')
    print(f'  {cif.filename} (CifData<{cif.pk}>): charges {charge_method}, parameters {set_name} ({citation}), '
          f'codes {", ".join(sorted(codes))}')
