"""Neural networks on crystal fingerprints (plain Python, torch on the CPU): the Hirshfeld-fingerprint CNN of
seed 003 with its transfer-learning mode and linear bias correction, and CGCNN as its comparator.

- :class:`HirshfeldCNN`: feature-extraction layers (three convolution + max-pool blocks) read the
  (channels, 50, 50) fingerprint image; fully connected layers (the head) predict the target.
  :meth:`NetworkModel.transfer` keeps the feature layers of a model trained on a source target, freezes them
  and trains a new head on the target (the seed's lattice parameter -> formation energy).
- :class:`CGCNN`: Xie and Grossman (2018): atom embedding, gated graph convolutions
  ``v_i <- g(v_i + sum_j sigmoid(z_ij W_f + b_f) * g(z_ij W_s + b_s))`` with ``z_ij = v_i + v_j + u_ij``
  concatenated and batch normalisation as in the authors' code, mean pooling over atoms, a softplus hidden
  layer and the output.
- :class:`NetworkModel`: training (Adam, mini-batches, standardised targets, fixed seed), prediction, the
  linear bias correction (a least-squares line from training predictions to training targets, applied to
  every prediction, regression only) and a safe serialisation: the ``state_dict`` as plain arrays in a NumPy
  ``.npz`` (loaded with ``allow_pickle=False``) and the hyperparameters as JSON. Never pickle.
"""

from __future__ import annotations

import io
import json
import time

import numpy as np
import torch
from torch import nn

__all__ = ('CGCNN', 'HirshfeldCNN', 'NetworkModel', 'batch_graphs')

ARCHITECTURES = ('hirshfeld_cnn', 'cgcnn')


class HirshfeldCNN(nn.Module):
    def __init__(self, in_channels: int = 1, bins: int = 50, widths=(16, 32, 32), hidden: int = 64,
                 n_outputs: int = 1, dropout: float = 0.1):
        super().__init__()
        layers, channels, size = [], in_channels, bins
        for width in widths:
            layers += [nn.Conv2d(channels, width, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2)]
            channels, size = width, size // 2
        self.features = nn.Sequential(*layers, nn.Flatten())
        self.head = nn.Sequential(nn.Linear(channels * size * size, hidden), nn.ReLU(), nn.Dropout(dropout),
                                  nn.Linear(hidden, n_outputs))

    def forward(self, images):
        return self.head(self.features(images))


class ConvLayer(nn.Module):
    """One CGCNN convolution (the authors' ``ConvLayer``)."""

    def __init__(self, atom_length: int, edge_length: int):
        super().__init__()
        self.full = nn.Linear(2 * atom_length + edge_length, 2 * atom_length)
        self.bn1 = nn.BatchNorm1d(2 * atom_length)
        self.bn2 = nn.BatchNorm1d(atom_length)

    def forward(self, atoms, edges, neighbours, mask):
        n, m = neighbours.shape
        z = torch.cat([atoms[:, None, :].expand(n, m, -1), atoms[neighbours], edges], dim=2)
        gated = self.bn1(self.full(z).view(n * m, -1)).view(n, m, -1)
        gate, core = gated.chunk(2, dim=2)
        message = torch.sigmoid(gate) * nn.functional.softplus(core) * mask[..., None]
        return nn.functional.softplus(atoms + self.bn2(message.sum(dim=1)))


class CGCNN(nn.Module):
    def __init__(self, node_length: int, edge_length: int, atom_length: int = 64, n_conv: int = 3,
                 hidden: int = 128, n_outputs: int = 1):
        super().__init__()
        self.features = nn.ModuleDict({
            'embedding': nn.Linear(node_length, atom_length),
            'convs': nn.ModuleList(ConvLayer(atom_length, edge_length) for _ in range(n_conv)),
        })
        self.head = nn.Sequential(nn.Linear(atom_length, hidden), nn.Softplus(), nn.Linear(hidden, n_outputs))

    def forward(self, batch):
        nodes, edges, neighbours, mask, crystal, n_crystals = batch
        atoms = self.features['embedding'](nodes)
        for conv in self.features['convs']:
            atoms = conv(atoms, edges, neighbours, mask)
        counts = torch.bincount(crystal, minlength=n_crystals).clamp(min=1).to(atoms.dtype)
        pooled = torch.zeros(n_crystals, atoms.shape[1], dtype=atoms.dtype).index_add_(0, crystal, atoms)
        return self.head(pooled / counts[:, None])


def batch_graphs(graphs) -> tuple:
    """One disjoint graph of several crystal graphs (neighbour indices shifted, crystal index per atom)."""
    offsets = np.cumsum([0] + [len(graph.nodes) for graph in graphs])
    nodes = torch.from_numpy(np.concatenate([graph.nodes for graph in graphs]))
    edges = torch.from_numpy(np.concatenate([graph.edges for graph in graphs]))
    neighbours = torch.from_numpy(np.concatenate([graph.neighbours + offset for graph, offset in zip(graphs, offsets)]))
    mask = torch.from_numpy(np.concatenate([graph.mask for graph in graphs]).astype(np.float32))
    crystal = torch.from_numpy(np.repeat(np.arange(len(graphs)), np.diff(offsets)))
    return nodes, edges, neighbours, mask, crystal, len(graphs)


def image_input(images) -> torch.Tensor:
    """Fingerprint images (n, channels, bins, bins) of area fractions to the network's input: the square root
    (it lifts the faint contacts), times 10."""
    return torch.from_numpy(10.0 * np.sqrt(np.clip(np.asarray(images, dtype=np.float32), 0.0, None)))


class NetworkModel:
    """A network with its training recipe, target scaling, bias correction and classes.

    :param architecture: ``hirshfeld_cnn`` (inputs: image arrays) or ``cgcnn`` (inputs: crystal graphs).
    :param classes: class labels for a classification (cross-entropy, one output per class); None: regression.
    :param input_settings: the fields of the ``FingerprintSettings`` or ``GraphSettings`` the inputs were made
        with (stored with the model; a stored model makes its inputs for new structures with them).
    """

    def __init__(self, architecture: str, shape: dict, classes=None, epochs: int = 60, batch_size: int = 16,
                 learning_rate: float = 1e-3, weight_decay: float = 1e-4, seed: int = 0, bias_correction=True,
                 input_settings: dict | None = None):
        if architecture not in ARCHITECTURES:
            raise ValueError(f'unknown architecture {architecture!r}; known: {ARCHITECTURES}')
        self.hyper = {
            'architecture': architecture, 'shape': dict(shape), 'classes': list(classes) if classes else None,
            'epochs': int(epochs), 'batch_size': int(batch_size), 'learning_rate': float(learning_rate),
            'weight_decay': float(weight_decay), 'seed': int(seed), 'bias_correction': bool(bias_correction),
            'y_mean': 0.0, 'y_std': 1.0, 'correction': [1.0, 0.0], 'frozen': [], 'losses': [],
            'training_seconds': 0.0, 'n_train': 0,
            # FingerprintSettings or GraphSettings of the inputs, so that a stored model can make its own.
            'input_settings': dict(input_settings or {}),
        }
        torch.manual_seed(seed)
        self.network = self.build_network()

    # construction and storage -----------------------------------------------------------------------------
    def build_network(self) -> nn.Module:
        shape = dict(self.hyper['shape'])
        shape['n_outputs'] = len(self.hyper['classes']) if self.hyper['classes'] else 1
        if self.hyper['architecture'] == 'hirshfeld_cnn':
            return HirshfeldCNN(**shape)
        return CGCNN(**shape)

    @property
    def is_classifier(self) -> bool:
        return bool(self.hyper['classes'])

    def to_bytes(self) -> tuple[bytes, str]:
        """(``.npz`` bytes of the state_dict, JSON hyperparameters)."""
        buffer = io.BytesIO()
        np.savez(buffer, **{name: value.detach().cpu().numpy() for name, value in self.network.state_dict().items()})
        return buffer.getvalue(), json.dumps(self.hyper)

    @classmethod
    def from_bytes(cls, weights: bytes, hyperparameters: str) -> NetworkModel:
        hyper = json.loads(hyperparameters)
        model = cls.__new__(cls)
        model.hyper = hyper
        model.network = model.build_network()
        with np.load(io.BytesIO(weights), allow_pickle=False) as arrays:
            state = {name: torch.from_numpy(np.array(arrays[name])) for name in arrays.files}
        model.network.load_state_dict(state)
        model.network.eval()
        return model

    # training -------------------------------------------------------------------------------------------
    def _inputs(self, inputs, rows):
        if self.hyper['architecture'] == 'hirshfeld_cnn':
            return image_input(np.asarray(inputs)[rows])
        return batch_graphs([inputs[k] for k in rows])

    def _targets(self, y):
        if self.is_classifier:
            index = {label: k for k, label in enumerate(self.hyper['classes'])}
            return torch.tensor([index[label] for label in y], dtype=torch.long)
        return torch.tensor((np.asarray(y, dtype=float) - self.hyper['y_mean']) / self.hyper['y_std'],
                            dtype=torch.float32)

    def _loss(self, output, target):
        if self.is_classifier:
            return nn.functional.cross_entropy(output, target)
        return nn.functional.mse_loss(output[:, 0], target)

    def fit(self, inputs, y, epochs: int | None = None) -> NetworkModel:
        """Train on ``inputs`` (images or graphs) and targets ``y``; the losses per epoch go to ``hyper['losses']``."""
        started = time.perf_counter()
        if not self.is_classifier:
            values = np.asarray(y, dtype=float)
            self.hyper['y_mean'] = float(values.mean())
            self.hyper['y_std'] = float(values.std()) or 1.0
        target = self._targets(y)
        parameters = [p for p in self.network.parameters() if p.requires_grad]
        optimiser = torch.optim.Adam(parameters, lr=self.hyper['learning_rate'],
                                     weight_decay=self.hyper['weight_decay'])
        generator = np.random.default_rng(self.hyper['seed'])
        n, size = len(y), self.hyper['batch_size']
        losses = []
        for _ in range(epochs or self.hyper['epochs']):
            self.network.train()
            self._freeze_statistics()
            order, total = generator.permutation(n), 0.0
            for start in range(0, n, size):
                rows = order[start:start + size]
                if len(rows) < 2 and n > 1:
                    continue  # batch normalisation needs two samples
                optimiser.zero_grad()
                loss = self._loss(self.network(self._inputs(inputs, rows)), target[rows])
                loss.backward()
                optimiser.step()
                total += loss.item() * len(rows)
            losses.append(total / n)
        self.network.eval()
        self.hyper['losses'] = self.hyper['losses'] + losses
        self.hyper['n_train'] = int(n)
        if self.hyper['bias_correction'] and not self.is_classifier:
            raw = self._raw_predict(inputs)
            values = np.asarray(y, dtype=float)
            # A network that predicts (nearly) one value has no line to correct: rounding noise would set its slope.
            if np.std(raw) > 1e-3 * (np.std(values) or 1.0):
                slope, intercept = np.polyfit(raw, values, 1)
                self.hyper['correction'] = [float(slope), float(intercept)]
        self.hyper['training_seconds'] += time.perf_counter() - started
        return self

    def _freeze_statistics(self):
        """Frozen feature layers keep their batch-norm statistics too."""
        if 'features' in self.hyper['frozen']:
            for module in self.network.features.modules():
                if isinstance(module, nn.BatchNorm1d | nn.BatchNorm2d):
                    module.eval()

    def transfer(self, classes=None, **recipe) -> NetworkModel:
        """A new model for another target: these feature layers, frozen; a new head (outputs per ``classes``)."""
        weights, hyperparameters = self.to_bytes()
        model = NetworkModel.from_bytes(weights, hyperparameters)
        model.hyper.update({key: value for key, value in recipe.items() if key in model.hyper})
        model.hyper.update(classes=list(classes) if classes else None, frozen=['features'], losses=[],
                           correction=[1.0, 0.0], training_seconds=0.0,
                           source={'y_mean': self.hyper['y_mean'], 'y_std': self.hyper['y_std']})
        torch.manual_seed(model.hyper['seed'])
        fresh = model.build_network()
        fresh.features.load_state_dict(model.network.features.state_dict())
        for parameter in fresh.features.parameters():
            parameter.requires_grad = False
        model.network = fresh
        return model

    # prediction -----------------------------------------------------------------------------------------
    def _raw_predict(self, inputs) -> np.ndarray:
        self.network.eval()
        outputs = []
        with torch.no_grad():
            for start in range(0, len(inputs), 64):
                outputs.append(self.network(self._inputs(inputs, np.arange(start, min(start + 64, len(inputs))))))
        output = torch.cat(outputs).numpy()
        if self.is_classifier:
            return output
        return output[:, 0].astype(float) * self.hyper['y_std'] + self.hyper['y_mean']

    def predict(self, inputs) -> np.ndarray:
        """Predicted targets (bias-corrected) or class labels."""
        raw = self._raw_predict(inputs)
        if self.is_classifier:
            return np.asarray(self.hyper['classes'], dtype=object)[raw.argmax(axis=1)]
        slope, intercept = self.hyper['correction']
        return slope * raw + intercept
