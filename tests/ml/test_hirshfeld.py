"""Hirshfeld-surface fingerprints (occpy) of a cell the project builds, their independent check, the nodes that
keep them, and the two network families (fingerprint CNN with transfer, CGCNN) trained, stored and reloaded."""

from __future__ import annotations

import json
import pathlib
import subprocess
import sys

import numpy as np
import pytest

from aiida_perovskite.builder import alkylammonium, layered_perovskite
from aiida_perovskite.fingerprint import CHANNELS, FingerprintSettings, atom_surface, hirshfeld_fingerprint
from aiida_perovskite.fingerprint.graph import crystal_graph
from aiida_perovskite.fingerprint.hirshfeld import check_surface, environments, unique_sites
from aiida_perovskite.ml.networks import NetworkModel

#: Coarser marching cubes than the default (0.3 A) for the cells the networks learn from: speed, not accuracy.
FAST = FingerprintSettings(separation=0.5)


@pytest.fixture(scope='module')
def cell():
    """(BDA)PbI4, the ideal-geometry Dion-Jacobson cell of the builder (25 atoms)."""
    import torch

    torch.set_num_threads(1)
    return layered_perovskite(alkylammonium(4, diammonium=True), phase='DJ')


@pytest.fixture(scope='module')
def fingerprint(cell):
    return hirshfeld_fingerprint(cell)


def _shortest(cell, first, second):
    symbols = np.array([site.specie.symbol for site in cell])
    distances = cell.distance_matrix[np.ix_(symbols == first, symbols == second)]
    return float(distances[distances > 1e-6].min())


def test_image_is_normalised_and_channels_partition_it(fingerprint):
    image = fingerprint.image
    assert image.shape == (len(CHANNELS), 50, 50)
    assert image.min() >= 0
    # Area fractions: binned share plus the share outside 0.76-2.8 A make the whole surface, channel by channel.
    assert image[0].sum() + fingerprint.outside[0] == pytest.approx(1.0, abs=1e-9)
    np.testing.assert_allclose(image[1:].sum(axis=0), image[0], atol=1e-12)
    assert 0.0 < fingerprint.outside[0] < 0.3
    # The ideal cell has symmetry: 14 of its 25 sites are unique.
    assert fingerprint.n_sites == 25 and fingerprint.n_unique < 25
    # Every contact kind of a lead iodide with an alkylammonium spacer is there.
    for name in ('H-X', 'H-H', 'C-H', 'M-X'):
        assert fingerprint.summaries[f'frac_{name}'] > 0.02, name
    assert sum(fingerprint.summaries[f'frac_{name}'] for name in CHANNELS[1:]) == pytest.approx(1.0)


def test_shortest_contacts_are_the_shortest_distances(cell, fingerprint):
    """A surface point on the line between two nuclei has d_i + d_e equal to their distance: the shortest
    H...I and Pb...I contacts must be the cell's shortest H-I and Pb-I distances (2.6-3.3 A and 3.17 A)."""
    h_i = _shortest(cell, 'H', 'I')
    assert 2.6 < fingerprint.summaries['shortest_H-X'] < 3.3
    assert fingerprint.summaries['shortest_H-X'] == pytest.approx(h_i, abs=0.03)
    assert fingerprint.summaries['shortest_M-X'] == pytest.approx(_shortest(cell, 'Pb', 'I'), abs=0.03)
    # d_i of the H surfaces is near the H radius, d_e beyond it: the H...X channel sits in 0.9-2.8 A.
    d_i, d_e = np.meshgrid(FingerprintSettings().edges[:-1], FingerprintSettings().edges[:-1], indexing='ij')
    weights = fingerprint.channel('H-X')
    assert ((d_i + d_e + 0.08) * weights).sum() / weights.sum() > h_i


def test_surface_distances_against_an_independent_calculation(cell):
    """d_e of occpy's vertices against a KD-tree over the periodic atoms; the 0.5 weight by symmetry."""
    settings = FingerprintSettings()
    sites, _ = unique_sites(cell, settings.symprec)
    chosen = [site for site in sites if cell[int(site)].specie.symbol in ('Pb', 'I', 'N', 'H')][:5]
    for site, (positions, numbers, symbols) in zip(chosen, environments(cell, chosen, settings.environment_radius)):
        atom = cell[int(site)]
        surface = atom_surface(atom.coords, atom.specie.Z, positions, numbers, settings, symbols)
        check = check_surface(surface, cell)
        assert check['max_d_e_error'] < 1e-4, (atom.specie, check)
        assert check['max_d_i_error'] < 1e-6
        assert 0.05 < check['inside_is_nearest'] <= 1.0
    # Between equal atoms the half-density surface is the bisecting plane, d_i = d_e, wherever one neighbour
    # dominates (near the axes of an octahedron of iodides 4 A away).
    octahedron = 4.0 * np.vstack([np.eye(3), -np.eye(3)])
    surface = atom_surface(np.zeros(3), 53, octahedron, [53] * 6, settings, ['I'] * 6)
    sorted_coords = np.sort(np.abs(surface.vertices), axis=1)
    near_axis = sorted_coords[:, 1] < 0.6
    assert near_axis.sum() > 20
    np.testing.assert_allclose(surface.d_i[near_axis], surface.d_e[near_axis], atol=0.02)
    np.testing.assert_allclose(sorted_coords[near_axis, 2], 2.0, atol=0.02)
    assert np.abs(surface.vertices).max() < 2.0 + 0.02  # no stray pieces around the neighbours (dropped)


@pytest.fixture(scope='module')
def strained(cell):
    """Five strains of the cell: fingerprints, graphs and their lattice parameter a (the source target)."""
    cells = []
    for factor in (0.94, 0.97, 1.0, 1.03, 1.06):
        copy = cell.copy()
        copy.scale_lattice(cell.volume * factor)
        cells.append(copy)
    images = np.array([hirshfeld_fingerprint(c, FAST).image for c in cells])
    graphs = [crystal_graph(c) for c in cells]
    return images, graphs, np.array([c.lattice.a for c in cells]), np.array([c.volume / len(c) for c in cells])


def _reload_in_new_process(tmp_path, model, inputs):
    weights, hyper = model.to_bytes()
    (tmp_path / 'w.npz').write_bytes(weights)
    (tmp_path / 'h.json').write_text(hyper)
    np.savez(tmp_path / 'inputs.npz', **inputs)
    script = f"""
import json, numpy as np
from aiida_perovskite.ml.networks import NetworkModel
from aiida_perovskite.fingerprint.graph import CrystalGraph
model = NetworkModel.from_bytes(open({str(tmp_path / 'w.npz')!r}, 'rb').read(), open({str(tmp_path / 'h.json')!r}).read())
data = np.load({str(tmp_path / 'inputs.npz')!r}, allow_pickle=False)
if 'images' in data.files:
    inputs = data['images']
else:
    inputs = [CrystalGraph(data[f'nodes{{k}}'], data[f'edges{{k}}'], data[f'neighbours{{k}}'], data[f'mask{{k}}'])
              for k in range(int(data['n']))]
print(json.dumps([float(v) for v in model.predict(inputs)]))
"""
    output = subprocess.run([sys.executable, '-c', script], capture_output=True, text=True, check=True)
    return np.array(json.loads(output.stdout.strip().splitlines()[-1]))


def test_fingerprint_cnn_trains_transfers_and_reloads(strained, tmp_path):
    images, _, lattice, volume = strained
    source = NetworkModel('hirshfeld_cnn', {'in_channels': images.shape[1], 'bins': 50}, epochs=40, batch_size=5,
                          seed=1).fit(images, lattice)
    losses = source.hyper['losses']
    assert losses[-1] < 0.5 * losses[0]
    # The bias correction maps the training predictions onto the targets (least squares line).
    assert np.abs(source.predict(images) - lattice).max() < 0.5 * np.ptp(lattice)
    target = source.transfer(epochs=40).fit(images, volume)
    assert target.hyper['frozen'] == ['features']
    for name, value in target.network.features.state_dict().items():
        np.testing.assert_array_equal(value.numpy(), source.network.features.state_dict()[name].numpy())
    assert target.hyper['losses'][-1] < target.hyper['losses'][0]
    again = _reload_in_new_process(tmp_path, target, {'images': images})
    # float32 networks: another process may run torch with another thread count and sum in another order
    np.testing.assert_allclose(again, target.predict(images), rtol=1e-6, atol=0)


def test_cgcnn_trains_and_reloads(strained, tmp_path):
    _, graphs, lattice, _ = strained
    shape = {'node_length': graphs[0].nodes.shape[1], 'edge_length': graphs[0].edges.shape[2]}
    model = NetworkModel('cgcnn', shape, epochs=40, batch_size=5, seed=0).fit(graphs, lattice)
    assert model.hyper['losses'][-1] < 0.5 * model.hyper['losses'][0]
    inputs = {'n': len(graphs)}
    for k, graph in enumerate(graphs):
        inputs.update({f'nodes{k}': graph.nodes, f'edges{k}': graph.edges, f'neighbours{k}': graph.neighbours,
                       f'mask{k}': graph.mask})
    np.testing.assert_allclose(_reload_in_new_process(tmp_path, model, inputs), model.predict(graphs), rtol=1e-6, atol=0)


def test_fingerprint_nodes_are_reused_and_networks_stored(aiida_profile, cell, strained, write_cif):
    from aiida import orm
    from aiida.engine import run_get_node

    from aiida_perovskite.data import TrainedModelData
    from aiida_perovskite.workflows.fingerprint import FingerprintsWorkChain

    structures = {'bda': orm.StructureData(pymatgen=cell)}
    settings = orm.Dict(FAST.as_dict())
    first, node = run_get_node(FingerprintsWorkChain, structures=structures, settings=settings)
    assert node.is_finished_ok and first['n_reused'].value == 0
    image = first['fingerprints']['bda'].get_array('image')
    np.testing.assert_allclose(image, hirshfeld_fingerprint(cell, FAST).image, atol=1e-12)
    # The same structure (a new node with the same content) and settings: found, not computed again.
    second, _ = run_get_node(FingerprintsWorkChain, structures={'bda': orm.StructureData(pymatgen=cell)},
                             settings=orm.Dict(FAST.as_dict()))
    assert second['n_reused'].value == 1
    assert second['fingerprints']['bda'].uuid == first['fingerprints']['bda'].uuid

    images, _, lattice, _ = strained
    model = NetworkModel('hirshfeld_cnn', {'in_channels': images.shape[1]}, epochs=2, batch_size=5,
                         input_settings=FAST.as_dict()).fit(images, lattice)
    stored = TrainedModelData.from_network(model, task='lattice_a', units='A', rmse=0.05).store()
    loaded = orm.load_node(stored.pk)
    assert loaded.family == 'hirshfeld_cnn' and loaded.is_network
    np.testing.assert_allclose(loaded.network().predict(images), model.predict(images), rtol=1e-6, atol=0)
    # ``screen`` (in memory) with the stored network: it fingerprints the CIF itself with the recorded settings.
    from aiida_perovskite.ml.screening import screen_cifs

    path = write_cif(cell, 'bda.cif')
    screening = screen_cifs([path], loaded)
    assert not screening.failures
    expected = model.predict(hirshfeld_fingerprint(path, FAST).image[None])[0]
    assert screening.rows[0]['prediction'] == pytest.approx(expected, abs=1e-6)
    assert screening.rows[0]['uncertainty'] == 0.05


def test_train_network_from_labelled_cifs_and_screen_with_provenance(aiida_profile, cell, tmp_path):
    """``train-network`` on six strained CIFs labelled with their lattice constant, then ``screen --store``: the
    fingerprints are computed once (screening reuses the training cell's), the prediction traces back to the
    model and the fingerprint, a bromide is flagged out of the training domain, a broken CIF is one line."""
    from aiida import orm
    from click.testing import CliRunner

    from aiida_perovskite.builder import alkylammonium, layered_perovskite
    from aiida_perovskite.calculations.functions.fingerprint import KIND
    from aiida_perovskite.cli import cmd_root

    folder = tmp_path / 'train'
    folder.mkdir()
    rows = ['cif,lattice_a']
    for k, factor in enumerate((0.92, 0.95, 0.98, 1.0, 1.02, 1.05)):
        copy = cell.copy()
        copy.scale_lattice(cell.volume * factor)
        copy.to(filename=str(folder / f'bda_{k}.cif'))
        rows.append(f'bda_{k}.cif,{copy.lattice.a:.6f}')
    (folder / 'unlabelled.cif').write_text(cell.to(fmt='cif'))
    labels = tmp_path / 'labels.csv'
    labels.write_text('\n'.join(rows) + '\n')
    count = orm.QueryBuilder().append(orm.ArrayData, filters={'attributes.fingerprint': KIND}).count
    before = count()
    result = CliRunner().invoke(cmd_root, ['train-network', str(folder), '--labels', str(labels), '--target',
                                           'lattice_a', '--units', 'A', '--epochs', '30', '--cv-folds', '2',
                                           '--label', 'cnn-a', '--profile', aiida_profile.name])
    # The unlabelled CIF is one line of stderr; the six others train the model (exit 1 for the failure).
    assert result.exit_code == 1, result.output
    assert [line for line in result.stderr.splitlines() if 'unlabelled.cif' in line and 'lattice_a' in line]
    assert count() - before == 6  # the unlabelled CIF is refused before its fingerprint is computed
    model = orm.QueryBuilder().append(orm.Data, filters={'label': 'cnn-a'}).one()[0]
    assert model.family == 'hirshfeld_cnn' and model.is_network and model.base.attributes.get('n_materials') == 6
    assert model.base.attributes.get('rmse') > 0 and model.domain() is not None
    training = model.creator
    assert sorted(key for key in training.inputs if key.startswith('input_')) == [f'input_bda_{k}' for k in range(6)]

    screen = tmp_path / 'screen'
    screen.mkdir()
    (screen / 'bda.cif').write_text((folder / 'bda_3.cif').read_text())
    layered_perovskite(alkylammonium(4, diammonium=True), phase='DJ', halide='Br').to(filename=str(screen / 'br.cif'))
    (screen / 'broken.cif').write_text('data_x\n_cell_length_a 5\n')
    result = CliRunner().invoke(cmd_root, ['screen', str(screen), '--model', 'cnn-a', '--store', '--json',
                                           '--profile', aiida_profile.name])
    assert result.exit_code == 1, result.output
    records = {pathlib.Path(r['file']).name: r for r in map(json.loads, result.stdout.splitlines()) if 'file' in r}
    assert 'error' in records['broken.cif'] and len(records['broken.cif']['error'].splitlines()) == 1
    assert records['bda.cif']['in_domain'] is True and records['br.cif']['in_domain'] is False
    assert records['bda.cif']['uncertainty'] == pytest.approx(model.base.attributes.get('rmse'))
    prediction = orm.load_node(records['bda.cif']['prediction_pk'])
    step = prediction.creator
    assert step.process_label == 'predict_network' and step.inputs.model.uuid == model.uuid
    # The screened cell is the training cell bda_3: its fingerprint node was reused, not computed again, and the
    # prediction is the stored network's on that very image.
    assert step.inputs.inputs.uuid == training.inputs['input_bda_3'].uuid
    image = training.inputs['input_bda_3'].get_array('image')
    assert records['bda.cif']['prediction'] == pytest.approx(float(model.network().predict(image[None])[0]), abs=1e-9)
    # In memory (nothing stored) the fingerprint is recomputed with the model's recorded settings: the same value.
    result = CliRunner().invoke(cmd_root, ['screen', str(screen / 'bda.cif'), '--model', 'cnn-a', '--no-store',
                                           '--json', '--profile', aiida_profile.name])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)['prediction'] == pytest.approx(records['bda.cif']['prediction'], rel=1e-6)
