"""The machine-learned potentials the engine runs, each optionally with D3 dispersion, and what is recorded of them.

Only potentials whose weights ship inside their PyPI wheels are listed: nothing here may download at run
time (a compute node often has no network, and a result must name the exact weights it came from).
CHGNet 0.3.0 and SevenNet-0 (11 Jul 2024) are both trained on PBE(+U) Materials Project data, so they
are paired with D3(BJ) for PBE (``torch-dftd``). The record of every result carries the package and its
version, the weights file and its SHA-256, and the dispersion settings.

A potential trained here (:mod:`aiida_perovskite.mlip.qeq`, HIP-NN with learned charges) is named
``qeq:FOLDER``, the folder holding its ``weights.npz`` and ``model.json``; it already contains the
dispersion of its GFN1-xTB reference, so it takes no ``+d3``. (``MlipCalculation`` writes a stored
potential node's files into its working folder and names that folder.)
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib.metadata
import pathlib

#: D3 settings used when a potential name ends in ``+d3``. The cut-off is 40 bohr, not torch-dftd's
#: 95: on 100-200-atom perovskite cells it changes the stress by under 0.01 GPa and is several times cheaper.
D3_DEFAULTS = {'damping': 'bj', 'functional': 'pbe', 'cutoff_bohr': 40.0, 'cn_cutoff_bohr': 40.0}
D3_DAMPINGS = ('zero', 'bj', 'zerom', 'bjm')


@dataclasses.dataclass(frozen=True)
class Potential:
    """One pretrained potential: the package that ships it and the model inside that package."""

    name: str
    package: str  # distribution name, for its version
    model: str  # the package's own name of the model

    def weights_path(self) -> pathlib.Path:
        """The weights file inside the installed package (never downloaded), or a trained QEq potential's."""
        if self.package == 'hippynn':
            from .qeq import WEIGHTS

            path = pathlib.Path(self.model) / WEIGHTS
            if not path.is_file():
                raise FileNotFoundError(f'{path} is missing: {self.model} is not a saved QEq potential')
            return path
        if self.package == 'chgnet':
            import chgnet

            folder = pathlib.Path(chgnet.__file__).parent / 'pretrained' / self.model
            found = sorted(folder.glob('*.pth.tar'))
        else:
            import sevenn

            folder = pathlib.Path(sevenn.__file__).parent / 'pretrained_potentials' / 'SevenNet_0__11Jul2024'
            found = sorted(folder.glob('*.pth'))
        if len(found) != 1:
            raise FileNotFoundError(f'the weights of {self.name} ({self.model}) are not in {folder}: reinstall '
                                    f'{self.package}=={importlib.metadata.version(self.package)}')
        return found[0]

    def calculator(self, device: str):
        """The potential's ASE calculator on ``device`` ('cpu' or 'cuda'), from the shipped weights."""
        path = self.weights_path()
        if self.package == 'hippynn':
            from .qeq import calculator

            return calculator(path.parent)
        if self.package == 'chgnet':
            from chgnet.model import CHGNet
            from chgnet.model.dynamics import CHGNetCalculator

            model = CHGNet.from_file(str(path), mlp_out_bias=False, version=self.model).to(device)
            return CHGNetCalculator(model=model, use_device=device)
        from sevenn.calculator import SevenNetCalculator

        # A path, not the model's name: the name would let sevenn download a missing file.
        return SevenNetCalculator(model=str(path), device=device)


#: The potentials, by the name a user gives (``chgnet``, ``sevennet``; add ``+d3`` for dispersion).
POTENTIALS = {
    'chgnet': Potential('chgnet', 'chgnet', '0.3.0'),
    'sevennet': Potential('sevennet', 'sevenn', '7net-0'),
}


#: Prefix of the name of a trained QEq potential: ``qeq:FOLDER``.
QEQ_PREFIX = 'qeq:'


def parse_name(name: str) -> tuple[Potential, bool]:
    """The potential and whether D3 is added, from ``NAME`` or ``NAME+d3`` (or ``qeq:FOLDER``); ``ValueError`` on an
    unknown name."""
    if name.startswith(QEQ_PREFIX):
        folder = name[len(QEQ_PREFIX):]
        if not folder:
            raise ValueError(f'potential {name!r} names no folder: use qeq:FOLDER (with weights.npz and model.json)')
        return Potential(name, 'hippynn', folder), False
    base, plus, extra = name.lower().partition('+')
    if base not in POTENTIALS or (plus and extra != 'd3'):
        raise ValueError(f'unknown potential {name!r}: choose from '
                         f'{", ".join(n + s for n in POTENTIALS for s in ("", "+d3"))}')
    return POTENTIALS[base], bool(plus)


def dispersion_settings(given: dict | None) -> dict:
    """D3 settings: ``given`` over :data:`D3_DEFAULTS`, validated."""
    settings = {**D3_DEFAULTS, **(given or {})}
    unknown = sorted(set(settings) - set(D3_DEFAULTS))
    if unknown:
        raise ValueError(f'unknown dispersion setting(s) {unknown}; known: {sorted(D3_DEFAULTS)}')
    if settings['damping'] not in D3_DAMPINGS:
        raise ValueError(f'dispersion damping must be one of {D3_DAMPINGS}, not {settings["damping"]!r}')
    for key in ('cutoff_bohr', 'cn_cutoff_bohr'):
        if not float(settings[key]) > 0:
            raise ValueError(f'dispersion {key} must be positive, not {settings[key]!r}')
    return settings


def sha256(path: pathlib.Path) -> str:
    digest = hashlib.sha256()
    with open(path, 'rb') as handle:
        for block in iter(lambda: handle.read(1 << 20), b''):
            digest.update(block)
    return digest.hexdigest()


def load_potential(name: str, dispersion: dict | None = None, device: str = 'cpu'):
    """The ASE calculator of potential ``name`` (``chgnet``, ``sevennet``, either with ``+d3``) and its record.

    :param dispersion: D3 settings over :data:`D3_DEFAULTS` (used only with ``+d3``).
    :param device: 'cpu', 'cuda' or 'auto' (cuda when torch sees a GPU).
    :returns: ``(calculator, record)``; the record is what every result carries.
    """
    potential, with_d3 = parse_name(name)
    import torch

    if device == 'auto':
        device = 'cuda' if torch.cuda.is_available() else 'cpu'
    path = potential.weights_path()
    record = {
        'name': name if name.startswith(QEQ_PREFIX) else name.lower(),
        'potential': potential.name,
        'package': potential.package,
        'package_version': importlib.metadata.version(potential.package),
        'model': potential.model,
        'weights_file': path.name,
        'weights_path': str(path),
        'weights_sha256': sha256(path),
        'torch_version': torch.__version__,
        'device': device,
        'dispersion': None,
    }
    if potential.package == 'hippynn':
        from .qeq import HYPER

        record['hyperparameters_sha256'] = sha256(path.parent / HYPER)
    calculator = potential.calculator(device)
    if with_d3:
        from ase.calculators.mixing import SumCalculator
        from ase.units import Bohr
        try:
            from torch_dftd.torch_dftd3_calculator import TorchDFTD3Calculator
        except ImportError:
            raise ValueError(f'{name}: +d3 needs the torch-dftd package (`make install` installs it; '
                             'else pip install torch-dftd==0.5.3)') from None

        settings = dispersion_settings(dispersion)
        d3 = TorchDFTD3Calculator(
            device=device, damping=settings['damping'], xc=settings['functional'],
            cutoff=float(settings['cutoff_bohr']) * Bohr, cnthr=float(settings['cn_cutoff_bohr']) * Bohr,
        )
        # A sum whose results are the totals (torch-dftd's own ``dft=`` keeps only D3's in ``results``).
        calculator = SumCalculator([calculator, d3])
        record['dispersion'] = {'method': 'D3', **settings, 'package': 'torch-dftd',
                                'package_version': importlib.metadata.version('torch-dftd')}
    return calculator, record
