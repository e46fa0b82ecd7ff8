"""``TrainedModelData``: a fitted model, safely serialised, with what it needs to be used and trusted."""

from __future__ import annotations

import io

from aiida import orm


class TrainedModelData(orm.Data):
    """A scikit-learn estimator stored with skops (never pickle) in the node's repository.

    Attributes (for QueryBuilder): ``task`` (``cp_u`` or ``v_atom``), ``family`` (``ols``, ``lasso``,
    ``ridge``, ``random_forest``), ``feature_names`` (in the estimator's column order),
    ``hyperparameters``, ``metrics`` (its row of the nested cross-validation table),
    ``rmse`` (pooled outer-test RMSE, the uncertainty of models without their own spread),
    ``units``, ``library_versions``, ``settings`` and ``n_materials``. The dataset it learned from
    is the input of the calcfunction that created it.
    """

    FILENAME = 'model.skops'
    #: A neural network (:class:`aiida_perovskite.ml.networks.NetworkModel`): its state_dict as plain arrays in
    #: ``.npz`` (read with ``allow_pickle=False``) and its hyperparameters, target scaling, bias correction and
    #: classes as JSON. ``family`` is then the architecture (``hirshfeld_cnn``, ``cgcnn``).
    NETWORK_WEIGHTS = 'network.npz'
    NETWORK_HYPERPARAMETERS = 'network.json'
    #: The applicability domain (:func:`aiida_perovskite.ml.domain.training_domain`), JSON, beside the model.
    DOMAIN_FILENAME = 'domain.json'

    @classmethod
    def from_estimator(cls, estimator, domain: dict | None = None, **attributes) -> TrainedModelData:
        from aiida_perovskite.ml import dump_model

        node = cls()
        node.base.repository.put_object_from_filelike(io.BytesIO(dump_model(estimator)), cls.FILENAME)
        node._put_domain(domain, attributes)
        node.base.attributes.set_many(attributes)
        return node

    def _put_domain(self, domain: dict | None, attributes: dict) -> None:
        """Store the applicability domain beside the model (and its summary in ``attributes``)."""
        import json

        if domain is None:
            return
        self.base.repository.put_object_from_filelike(io.BytesIO(json.dumps(domain).encode()), self.DOMAIN_FILENAME)
        attributes['domain_elements'] = domain.get('elements')
        attributes['domain_fragments'] = len(domain.get('fragments', []))

    @classmethod
    def from_network(cls, network, domain: dict | None = None, **attributes) -> TrainedModelData:
        """A node holding a trained :class:`~aiida_perovskite.ml.networks.NetworkModel` (never pickled), with its
        applicability domain when given."""
        weights, hyperparameters = network.to_bytes()
        node = cls()
        node._put_domain(domain, attributes)
        node.base.repository.put_object_from_filelike(io.BytesIO(weights), cls.NETWORK_WEIGHTS)
        node.base.repository.put_object_from_filelike(io.BytesIO(hyperparameters.encode()),
                                                      cls.NETWORK_HYPERPARAMETERS)
        attributes.setdefault('family', network.hyper['architecture'])
        attributes.setdefault('hyperparameters', {key: value for key, value in network.hyper.items()
                                                  if key != 'losses'})
        node.base.attributes.set_many(attributes)
        return node

    @property
    def is_network(self) -> bool:
        return self.NETWORK_WEIGHTS in self.base.repository.list_object_names()

    def network(self):
        """The stored network, rebuilt from its JSON hyperparameters and ``.npz`` weights."""
        from aiida_perovskite.ml.networks import NetworkModel

        if not self.is_network:
            raise ValueError(f'model <{self.pk}> holds no network (family {self.family!r})')
        return NetworkModel.from_bytes(self.base.repository.get_object_content(self.NETWORK_WEIGHTS, mode='rb'),
                                       self.base.repository.get_object_content(self.NETWORK_HYPERPARAMETERS,
                                                                               mode='r'))

    def predict_structures(self, structures):
        """Predictions and their uncertainty (the model's ``rmse`` attribute, NaN without one) of a network model
        for pymatgen structures or CIF paths: the fingerprint or crystal graph is computed with the settings
        recorded in the hyperparameters (``input_settings``)."""
        import numpy as np

        from aiida_perovskite.fingerprint import FingerprintSettings, hirshfeld_fingerprint
        from aiida_perovskite.fingerprint.graph import GraphSettings, crystal_graph
        from aiida_perovskite.fingerprint.hirshfeld import as_structure

        network = self.network()
        structures = [as_structure(structure) for structure in structures]
        if network.hyper['architecture'] == 'cgcnn':
            settings = GraphSettings(**network.hyper.get('input_settings', {}))
            inputs = [crystal_graph(structure, settings) for structure in structures]
        else:
            settings = FingerprintSettings(**network.hyper.get('input_settings', {}))
            inputs = np.array([hirshfeld_fingerprint(structure, settings).image for structure in structures])
        mean = network.predict(inputs)
        rmse = self.base.attributes.get('rmse', None)
        return mean, np.full(len(mean), np.nan if rmse is None else rmse, dtype=float)

    def domain(self) -> dict | None:
        """The applicability domain recorded with the model (None for models trained before it was)."""
        import json

        if self.DOMAIN_FILENAME not in self.base.repository.list_object_names():
            return None
        return json.loads(self.base.repository.get_object_content(self.DOMAIN_FILENAME, mode='r'))

    def applicability(self, features: dict, elements) -> dict | None:
        """Where a structure stands against the training domain (see :func:`aiida_perovskite.ml.domain.assess`)."""
        from aiida_perovskite.ml.domain import assess

        domain = self.domain()
        return None if domain is None else assess(features, elements, domain)

    @property
    def task(self) -> str:
        return self.base.attributes.get('task')

    @property
    def family(self) -> str:
        return self.base.attributes.get('family')

    @property
    def feature_names(self) -> list[str]:
        return self.base.attributes.get('feature_names')

    def estimator(self):
        """The fitted estimator, loaded with skops trusting only scikit-learn, numpy and scipy types."""
        from aiida_perovskite.ml import load_model

        return load_model(self.base.repository.get_object_content(self.FILENAME, mode='rb'))

    def predict(self, frame):
        """Predictions and their uncertainty for the rows of ``frame`` (feature columns ``family:name``).

        The uncertainty is the spread of a forest's trees, or else the model's cross-validated RMSE.
        """
        import numpy as np

        from aiida_perovskite.ml import predict

        mean, spread = predict(self.estimator(), frame, self.feature_names)
        spread = np.where(np.isnan(spread), self.base.attributes.get('rmse', np.nan), spread)
        return mean, spread
