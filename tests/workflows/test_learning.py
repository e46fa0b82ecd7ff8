"""From real fast ladders to trained models, screening and sharing (report, export, graph), through provenance.

Six Dion-Jacobson cells with different diammonium spacers run the ``fast`` protocol for real
(antechamber, parmchk2, tleap, LAMMPS); the dataset is assembled by QueryBuilder, models are
trained and stored as nodes, and ``screen`` ranks CIFs from the stored model in a new process.
"""

import io
import os
import pathlib
import subprocess
import sys

import pytest
from aiida import orm
from aiida.engine import run_get_node

from aiida_perovskite.builder import alkylammonium, layered_perovskite

#: Spacers of the test materials: H3N+-(CH2)n-NH3+ for these n.
CHAINS = (3, 4, 5, 6, 7, 8)
#: Small settings: the method's grids are exercised by tests/ml; here the plumbing is under test.
#: The material simulated with a charge model and parameter set other than the protocol's.
OTHER_CHAIN = 8
OTHER_FORCE_FIELD = {'charge_model': 'scaled:0.9', 'parameter_set': 'myp-pbi-uff'}
#: The group mixes two force fields on purpose (OTHER_FORCE_FIELD): training across them is asked for by name.
TRAINING = {'outer_folds': 3, 'inner_folds': 2, 'n_estimators': 20, 'learning_curve_sizes': [0.5, 1.0],
            'permutation_repeats': 2, 'seed': 1, 'allow_mixed': ['charge_model', 'parameter_set']}


def dj_cif(n_carbons: int) -> orm.CifData:
    from pymatgen.io.cif import CifWriter

    structure = layered_perovskite(alkylammonium(n_carbons, diammonium=True), phase='DJ')
    return orm.CifData(file=io.BytesIO(str(CifWriter(structure)).encode()), filename=f'dj_c{n_carbons}.cif')


@pytest.fixture(scope='module')
def learning_group(aiida_profile, tmp_path_factory):
    """A group of six finished fast-protocol materials (about 2 minutes of real runs)."""
    from aiida_perovskite.tools.materials import register_material
    from aiida_perovskite.workflows.material import MaterialWorkChain
    from tests.conftest import local_computer

    _, codes = local_computer('learning-localhost', tmp_path_factory.mktemp('work'))
    group = orm.Group(label='learning-test').store()
    for n_carbons in CHAINS:
        # One material with another charge model and parameter set, so the traces below have to tell them apart.
        overrides = {'parametrise': OTHER_FORCE_FIELD} if n_carbons == OTHER_CHAIN else None
        builder = MaterialWorkChain.get_builder_from_protocol(codes, dj_cif(n_carbons), 'fast', overrides)
        _, node = run_get_node(builder)
        assert node.is_finished_ok, f'C{n_carbons}: {node.exit_message}'
        register_material(node, group, f'md5-c{n_carbons}', 'fast', f'dj_c{n_carbons}.cif')
    return group


def test_each_material_has_targets_and_features(learning_group):
    for material in learning_group.nodes:
        targets = material.outputs.targets.get_dict()
        assert targets['temperatures'] == [250.0, 300.0]
        assert len(targets['v_atom']) == 2 and all(10 < v < 40 for v in targets['v_atom'])
        assert targets['cp_u'] == pytest.approx(
            (targets['pe_per_atom'][1] - targets['pe_per_atom'][0]) / 50.0)  # two points: the exact slope
        assert set(targets['flags']) == {'unstable', 'pe_off_trend', 'pe_drift'}
        features = material.outputs.features.get_dict()
        assert features['spacer:charge'] == 2.0
        assert features['cell:n_atoms'] == float(len(material.inputs.cif.get_structure().sites))


def test_dataset_is_assembled_by_querybuilder_and_leads_back_to_each_cif(learning_group, tmp_path):
    from click.testing import CliRunner

    from aiida_perovskite.cli import cmd_root
    from aiida_perovskite.tools.dataset import build_dataset

    dataset = build_dataset(learning_group.label)
    frame = dataset.frame()
    assert len(frame) == 2 * len(CHAINS)
    assert frame['material'].nunique() == len(CHAINS)
    for material in learning_group.nodes:
        rows = frame[frame['material_uuid'] == material.uuid]
        assert set(rows['cif_uuid']) == {material.inputs.cif.uuid}
        assert set(rows['targets_uuid']) == {material.outputs.targets.uuid}
        assert list(rows['v_atom']) == material.outputs.targets['v_atom']
        assert set(rows['charge_method']) == {'gas'}
        assert set(rows['engine']) == {'lammps'}  # the ladder's code, read from the graph
        assert set(rows['flag_pe_drift']) == {material.outputs.targets['flags']['pe_drift']}
    assert dataset.base.attributes.get('flags')['flag_pe_drift'] == frame.groupby('material')['flag_pe_drift'].first().sum()
    # Fragments a spacer lacks are zero, not missing; every feature is numeric.
    features = [column for column in frame.columns if ':' in column]
    assert not frame[features].isna().any().any()
    assert frame['jdd3:C-C-C-C'].min() == 0.0 and frame['jdd3:C-C-C-C'].max() > 0
    # The same materials give the same node; the CLI writes the table.
    assert build_dataset(learning_group.label).pk == dataset.pk
    result = CliRunner().invoke(cmd_root, ['dataset', '--group', learning_group.label, '--csv', str(tmp_path / 'd.csv')])
    assert result.exit_code == 0, result.output
    assert f'DatasetData<{dataset.pk}>' in result.output
    assert (tmp_path / 'd.csv').read_text().splitlines()[0].startswith('material,')


@pytest.fixture(scope='module')
def trained(learning_group):
    from aiida_perovskite.calculations.functions.learning import train_models
    from aiida_perovskite.tools.dataset import build_dataset

    dataset = build_dataset(learning_group.label)
    results, node = train_models.run_get_node(dataset, orm.Dict({
        'target': 'v_atom', 'families': ['ridge', 'random_forest'], 'training': TRAINING}))
    assert node.is_finished_ok, node.exit_message
    return results


def test_trained_model_provenance_reaches_every_training_cif(learning_group, trained):
    from aiida_perovskite.data import TrainedModelData

    training_cifs = {material.inputs.cif.uuid for material in learning_group.nodes}
    for family in ('ridge', 'random_forest'):
        model = trained[f'model_{family}']
        assert isinstance(model, TrainedModelData)
        assert (model.task, model.family) == ('v_atom', family)
        assert 'thermo:temperature' in model.feature_names
        assert model.base.attributes.get('library_versions')['sklearn']
        builder = orm.QueryBuilder()
        builder.append(orm.CifData, tag='cif', project='uuid')
        builder.append(TrainedModelData, with_ancestors='cif', filters={'id': model.pk})
        assert set(builder.all(flat=True)) == training_cifs
    tasks = trained['metrics'].get_dict()
    assert set(tasks) == {'v_atom', 'v_atom_stacked'}
    assert {'baseline_mean', 'baseline_cif_volume', 'ridge', 'random_forest'} <= {row['model'] for row in tasks['v_atom']}
    report = trained['report'].base.repository.list_object_names()
    assert 'index.html' in report and any(name.endswith('.png') for name in report)


def test_rows_and_models_trace_to_charge_model_and_parameter_set(learning_group, trained):
    """QueryBuilder from each dataset row (and each trained model) back to the topology and ParameterSetData."""
    from aiida_perovskite.data import LammpsTopologyData, ParameterSetData, TrainedModelData
    from aiida_perovskite.tools.dataset import build_dataset

    frame = build_dataset(learning_group.label).frame()
    seen = set()
    for row in frame.drop_duplicates('material').itertuples():
        builder = orm.QueryBuilder()
        builder.append(orm.WorkChainNode, filters={'uuid': row.material_uuid}, tag='material')
        builder.append(LammpsTopologyData, with_incoming='material', tag='topology', project='*')  # its output
        builder.append(orm.CalcFunctionNode, with_outgoing='topology', tag='writer')
        builder.append(ParameterSetData, with_outgoing='writer', project='*')
        (topology, parameters), = builder.all()
        assert row.charge_model == topology.base.attributes.get('charge_model')
        assert (row.parameter_set, row.parameter_set_uuid) == (parameters['name'], parameters.uuid)
        assert parameters['citations']  # the citation travels with the row
        seen.add((row.charge_model, row.parameter_set))
    other = (OTHER_FORCE_FIELD['charge_model'], OTHER_FORCE_FIELD['parameter_set'])
    assert other in seen and len(seen) == 2

    for family in ('ridge', 'random_forest'):
        model = trained[f'model_{family}']
        builder = orm.QueryBuilder()
        builder.append(TrainedModelData, filters={'id': model.pk}, tag='model')
        builder.append(LammpsTopologyData, with_descendants='model', project='attributes.charge_model')
        assert set(builder.all(flat=True)) == {model_spec for model_spec, _ in seen}
        builder = orm.QueryBuilder()
        builder.append(TrainedModelData, filters={'id': model.pk}, tag='model')
        builder.append(ParameterSetData, with_descendants='model', project='attributes.name')
        assert set(builder.all(flat=True)) == {name for _, name in seen}
        # The same facts are attributes of the model, so models can be filtered by force field directly.
        force_field = model.base.attributes.get('force_field')
        assert set(force_field['charge_models']) == {m for m, _ in seen}
        assert set(force_field['parameter_sets']) == {n for _, n in seen}
    matching = orm.QueryBuilder().append(
        TrainedModelData, filters={'attributes.force_field.charge_models': {'contains': [other[0]]}}).count()
    assert matching == 2


def write_candidates(folder) -> list:
    """Two new DJ cells (C9 and C10 diammonium spacers) as CIF files in ``folder``."""
    from pymatgen.io.cif import CifWriter

    paths = []
    for n_carbons in (9, 10):
        path = folder / f'new_c{n_carbons}.cif'
        CifWriter(layered_perovskite(alkylammonium(n_carbons, diammonium=True), phase='DJ')).write_file(path)
        paths.append(path)
    return paths


def test_screen_ranks_cifs_from_the_stored_model_in_a_new_process(trained, tmp_path):
    from aiida.manage.configuration import get_config, get_profile

    good = write_candidates(tmp_path)
    broken = tmp_path / 'broken.cif'
    broken.write_text(good[0].read_text()[:900])  # cut off in the middle of the atom loop
    model = trained['model_random_forest']
    environment = {**os.environ, 'AIIDA_PATH': str(get_config().dirpath)}
    command = [str(pathlib.Path(sys.executable).with_name('aiida-perovskite')), 'screen', '--model', model.uuid,
               '--profile', get_profile().name, '--group', 'screened', *map(str, good), str(broken)]
    completed = subprocess.run(command, capture_output=True, text=True, env=environment, timeout=300)
    assert completed.returncode == 1, completed.stdout + completed.stderr  # one CIF failed, the others ranked
    assert '2 ranked, 1 failed' in completed.stdout
    # C9 and C10 chains are longer than any training chain (C3..C8): extrapolations, flagged as such.
    assert '2 out of the training domain' in completed.stdout and 'out of range' in completed.stdout
    assert f'{broken}: UnreadableCifError: ' in completed.stderr  # one line: file, error class, message
    assert 'Traceback' not in completed.stdout + completed.stderr  # a clear reason, not a parser's dump
    ranked = [line.split()[1] for line in completed.stdout.splitlines()
              if line.split()[:1] in (['1'], ['2']) and line.split()[1].endswith('.cif')]
    assert sorted(pathlib.Path(name).name for name in ranked) == ['new_c10.cif', 'new_c9.cif']
    # The predictions are nodes that lead back to their CIFs and to the model.
    # The predictions are nodes whose ancestors are their own CIF, the model and, through the model,
    # every training CIF.
    training = {cif.filename for cif in orm.QueryBuilder().append(orm.CifData, tag='cif', project='*').append(
        orm.Node, with_ancestors='cif', filters={'uuid': model.uuid}).distinct().all(flat=True)}
    assert len(training) == len(CHAINS)
    predictions = orm.load_group('screened').nodes
    assert len(predictions) == 2
    screened = set()
    for prediction in predictions:
        upstream = orm.QueryBuilder().append(orm.Dict, filters={'id': prediction.pk}, tag='p').append(
            orm.Node, with_descendants='p', project='*').distinct().all(flat=True)
        assert model.uuid in {node.uuid for node in upstream}
        own = {node.filename for node in upstream if isinstance(node, orm.CifData)} - training
        assert len(own) == 1
        screened |= own
    assert screened == {'new_c9.cif', 'new_c10.cif'}


def test_train_command_prints_the_table_and_writes_the_report(learning_group, tmp_path, monkeypatch):
    from click.testing import CliRunner

    from aiida_perovskite.cli import cmd_root

    monkeypatch.chdir(tmp_path)  # a relative --report path, as people type it
    arguments = ['train', '--group', learning_group.label, '--target', 'cp_u', '--families', 'ridge',
                 '--outer-folds', '3', '--inner-folds', '2', '--report', 'report/cp_u']
    # The group mixes two force fields: refused in one line unless the mixture is asked for by name.
    refused = CliRunner().invoke(cmd_root, arguments)
    assert refused.exit_code == 1 and 'mixes 2 values of charge_model' in refused.output
    assert '--allow-mixed charge_model' in refused.output and 'Traceback' not in refused.output
    result = CliRunner().invoke(cmd_root, [*arguments, '--allow-mixed', 'charge_model', '--allow-mixed', 'parameter_set'])
    assert result.exit_code == 0, result.output
    assert 'baseline_mean' in result.output and 'ridge' in result.output
    assert 'TrainedModelData<' in result.output and 'learning-test/cp_u/ridge' in result.output
    # The label finds the newest model of that name.
    listed = CliRunner().invoke(cmd_root, ['screen', '--model', 'learning-test/cp_u/ridge', '--no-store',
                                           *[str(p) for p in write_candidates(tmp_path)]])
    assert listed.exit_code == 0, listed.output
    assert 'cp_u by ridge' in listed.output and '2 ranked, 0 failed' in listed.output
    assert (tmp_path / 'report' / 'cp_u' / 'index.html').is_file()
    assert (tmp_path / 'report' / 'cp_u' / 'metrics.csv').read_text().count('\n') == 3  # header, baseline, ridge


# Sharing the group: report, export to an archive that a fresh profile imports, provenance drawings, examples.

@pytest.fixture(scope='module')
def prediction(learning_group, trained):
    """One screening prediction made with the forest (on a training material's own features: cheap)."""
    from aiida_perovskite.calculations.functions.learning import predict_properties

    material = min(learning_group.nodes, key=lambda node: node.pk)
    return predict_properties(trained['model_random_forest'], material.outputs.features, orm.Dict({'temperature': 300.0}))


def test_report_prints_materials_targets_models_and_predictions(learning_group, trained, prediction, tmp_path):
    from click.testing import CliRunner

    from aiida_perovskite.analysis.report import r2_text
    from aiida_perovskite.cli import cmd_root

    result = CliRunner().invoke(cmd_root, ['report', '--group', learning_group.label, '-o', str(tmp_path / 'report')])
    assert result.exit_code == 0, result.output
    for material in learning_group.nodes:
        line = next(line for line in result.output.splitlines() if 'dj_c' in line and line.split()[0] == str(material.pk))
        targets = material.outputs.targets
        assert 'finished' in line and '2/2' in line and f'{targets["cp_u"]:.3e}' in line
        assert all(f'{v:.3f}' in line for v in targets['v_atom'])
    assert 'V_atom 250 K' in result.output and 'V_atom 300 K' in result.output
    assert '6 finished, 0 failed, 0 in progress' in result.output
    for family in ('ridge', 'random_forest'):
        model = trained[f'model_{family}']
        assert r2_text(model.base.attributes.get('metrics')['test_r2_mean']) in result.output
        assert str(model.pk) in result.output
    assert f'{prediction["prediction"]:.5g}' in result.output
    folder = tmp_path / 'report'
    assert (folder / 'index.html').read_text().count('<tr>') >= 6 + 2 + 1
    assert (folder / 'materials.csv').read_text().count('\n') == 1 + 2 * len(CHAINS)  # header + a row per temperature
    for plot in ('v_atom.png', 'pe_per_atom.png'):
        assert (folder / plot).read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'
    training = trained['model_ridge'].creator.pk
    assert (folder / 'training' / str(training) / 'index.html').is_file()  # parity plots of the training


def test_graph_draws_a_material_from_its_cif_to_the_models(learning_group, trained, tmp_path):
    import xml.etree.ElementTree as ElementTree

    from click.testing import CliRunner

    from aiida_perovskite.cli import cmd_root

    material = min(learning_group.nodes, key=lambda node: node.pk)
    svg = tmp_path / 'material.svg'
    result = CliRunner().invoke(cmd_root, ['graph', '--material', material.uuid, '-o', str(svg)])
    assert result.exit_code == 0, result.output
    root = ElementTree.parse(svg).getroot()
    assert root.tag.endswith('svg')
    text = svg.read_text()
    assert material.inputs.cif.filename in text and f'CifData ({material.inputs.cif.pk})' in text
    for label in ('decompose_cif', 'AntechamberCalculation', 'LammpsTopologyData', 'TemperatureLadderWorkChain',
                  'summaries.T250', 'compute_targets', 'DatasetData', 'train_models'):
        assert label in text, label
    for family in ('ridge', 'random_forest'):
        assert f'TrainedModelData ({trained[f"model_{family}"].pk})' in text
    assert 'LammpsSegmentWorkChain' not in text  # the ladder's segments stay collapsed
    png = tmp_path / 'model.png'
    result = CliRunner().invoke(cmd_root, ['graph', '--model', str(trained['model_ridge'].pk), '-o', str(png)])
    assert result.exit_code == 0, result.output
    assert png.read_bytes()[:8] == b'\x89PNG\r\n\x1a\n' and png.stat().st_size > 10_000


def test_export_imports_into_a_fresh_profile_where_report_works(learning_group, trained, prediction, tmp_path):
    from click.testing import CliRunner

    from aiida_perovskite.analysis.report import r2_text
    from aiida_perovskite.cli import cmd_root

    archive = tmp_path / 'learning.aiida'
    result = CliRunner().invoke(cmd_root, ['export', '--group', learning_group.label, str(archive)])
    assert result.exit_code == 0, result.output
    assert archive.is_file()

    bin_dir = pathlib.Path(sys.executable).parent
    environment = {**os.environ, 'AIIDA_PATH': str(tmp_path / 'elsewhere'), 'PATH': f'{bin_dir}{os.pathsep}{os.environ["PATH"]}'}

    def run(*command):
        completed = subprocess.run(command, capture_output=True, text=True, env=environment, timeout=300)
        assert completed.returncode == 0, f'{command}:\n{completed.stdout}\n{completed.stderr}'
        return completed.stdout

    run(str(bin_dir / 'verdi'), 'presto', '--profile-name', 'elsewhere')
    run(str(bin_dir / 'verdi'), '-p', 'elsewhere', 'archive', 'import', str(archive))
    report = run(str(bin_dir / 'aiida-perovskite'), 'report', '--group', learning_group.label, '--profile', 'elsewhere')
    for material in learning_group.nodes:
        targets = material.outputs.targets
        line = next(line for line in report.splitlines() if material.base.extras.get('cif_file') in line)
        assert 'finished' in line and f'{targets["cp_u"]:.3e}' in line
    for family in ('ridge', 'random_forest'):
        metrics = trained[f'model_{family}'].base.attributes.get('metrics')
        assert any(family in line and r2_text(metrics['test_r2_mean']) in line for line in report.splitlines())
    assert f'{prediction["prediction"]:.5g}' in report
    # The provenance came along: the imported material draws from its CIF to the models.
    material = min(learning_group.nodes, key=lambda node: node.pk)
    drawn = run(str(bin_dir / 'aiida-perovskite'), 'graph', '--material', material.uuid,
                '-o', str(tmp_path / 'imported.svg'), '--profile', 'elsewhere')
    assert 'nodes' in drawn and 'TrainedModelData' in (tmp_path / 'imported.svg').read_text()


def test_example_scripts_run_with_verdi_run(learning_group, trained):
    from aiida.manage.configuration import get_config, get_profile

    examples = pathlib.Path(__file__).resolve().parents[2] / 'examples'
    verdi = pathlib.Path(sys.executable).with_name('verdi')
    environment = {**os.environ, 'AIIDA_PATH': str(get_config().dirpath)}
    command = [str(verdi), '-p', get_profile().name, 'run']
    completed = subprocess.run([*command, str(examples / 'query_results.py'), learning_group.label],
                               capture_output=True, text=True, env=environment, timeout=300)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert f'{len(CHAINS)} finished material(s) in group {learning_group.label}' in completed.stdout
    assert all(f'dj_c{n}.cif' in completed.stdout for n in CHAINS)
    completed = subprocess.run([*command, str(examples / 'trace_a_model.py'), trained['model_ridge'].uuid],
                               capture_output=True, text=True, env=environment, timeout=300)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert 'ridge model of v_atom' in completed.stdout and completed.stdout.count('dj_c') == len(CHAINS)
