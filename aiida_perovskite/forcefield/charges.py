"""Charge models: which charges the ions carry, and how the spacers' partial charges follow.

A charge model is a recorded choice of the parametrisation, separate from how the spacers'
partial charges are computed (AM1-BCC or Gasteiger, the ``charge_method``). Every model keeps
the cell neutral: the ions take the model's charges, and every organic partial charge is
multiplied by one factor so the organic part cancels the inorganic part.

``formal``
    The method's recipe: the parameter set's formal ion charges (Pb +2, I -1) and the spacers'
    charges as computed (summing to their formal charge). The organic factor is 1.
``myp``
    The charges of the MYP model itself: Pb +2.03, I -1.13 (Mattoni et al. 2015). A PbI4
    layer then carries -2.49 e per lead, so the spacers' charges are scaled by 1.245.
``scaled:F``
    Every charge, ionic and organic, multiplied by ``F`` (0 < F <= 1): the usual way a
    non-polarisable force field accounts for electronic screening (electronic continuum
    correction, Leontyev and Stuchebrukhov 2011; F = 1/sqrt(eps_el) is about 0.7-0.8).
"""

from __future__ import annotations

import dataclasses

from .parameter_sets import ForceFieldError, MissingParametersError, ParameterSet

__all__ = ('CHARGE_MODELS', 'ChargeModel', 'parse_charge_model')

#: Names of the charge models, with a one-line description each (``scaled`` takes a factor).
CHARGE_MODELS = {
    'formal': 'formal ion charges (Pb +2, X -1), spacer charges as computed (the method)',
    'myp': 'MYP ion charges (Pb +2.03, I -1.13), spacer charges scaled to keep the cell neutral',
    'scaled': 'every charge times F, e.g. scaled:0.8 (electronic continuum correction)',
}

_MYP_CHARGES = {'Pb': 2.03, 'I': -1.13}
_CITATIONS = {
    'formal': (),
    'myp': ('A. Mattoni, A. Filippetti, M. I. Saba, P. Delugas, J. Phys. Chem. C 119 (2015) 17421, '
            'doi:10.1021/acs.jpcc.5b04283 (ion charges Pb +2.03, I -1.13)',),
    'scaled': ('I. V. Leontyev, A. A. Stuchebrukhov, Phys. Chem. Chem. Phys. 13 (2011) 2613, '
               'doi:10.1039/C0CP01971B (electronic continuum correction: scaled ionic charges)',),
}


@dataclasses.dataclass(frozen=True)
class ChargeModel:
    """One charge model; ``scale`` is the factor of ``scaled`` (1 for the others)."""

    name: str
    scale: float = 1.0

    @property
    def spec(self) -> str:
        """The model as it is written in inputs and recorded on nodes: ``formal``, ``myp``, ``scaled:0.8``."""
        return f'scaled:{self.scale:g}' if self.name == 'scaled' else self.name

    @property
    def description(self) -> str:
        return CHARGE_MODELS[self.name].replace('times F', f'times {self.scale:g}')

    @property
    def citations(self) -> tuple[str, ...]:
        return _CITATIONS[self.name]

    def ion_charges(self, parameter_set: ParameterSet, elements) -> dict[str, float]:
        """The charge of each inorganic element of ``elements`` under this model.

        :raises MissingParametersError: the model has no charge for one of the elements.
        """
        elements = sorted(set(elements))
        if self.name == 'myp':
            missing = [element for element in elements if element not in _MYP_CHARGES]
            if missing:
                raise MissingParametersError(
                    f'the charge model myp defines Pb +2.03 and I -1.13 only (Mattoni et al. 2015), not '
                    f'{", ".join(missing)}: choose formal or scaled:F for this structure'
                )
            return {element: _MYP_CHARGES[element] for element in elements}
        parameter_set.check_elements(set(elements))
        return {element: parameter_set.ions[element]['charge'] * self.scale for element in elements}

    def as_dict(self) -> dict:
        return {'name': self.name, 'spec': self.spec, 'scale': self.scale, 'description': self.description,
                'citations': list(self.citations)}


def parse_charge_model(spec: str | ChargeModel) -> ChargeModel:
    """The :class:`ChargeModel` of ``spec`` (``formal``, ``myp`` or ``scaled:F``).

    :raises ForceFieldError: an unknown model or a factor outside (0, 1], naming the models that exist.
    """
    if isinstance(spec, ChargeModel):
        return spec
    known = ', '.join(['formal', 'myp', 'scaled:F (0 < F <= 1)'])
    name, _, factor = str(spec).strip().partition(':')
    if name not in CHARGE_MODELS:
        raise ForceFieldError(f'unknown charge model {spec!r}; choose one of {known}')
    if name != 'scaled':
        if factor:
            raise ForceFieldError(f'the charge model {name} takes no factor ({spec!r}); choose one of {known}')
        return ChargeModel(name)
    try:
        scale = float(factor)
    except ValueError:
        raise ForceFieldError(f'the charge model scaled needs a factor, e.g. scaled:0.8, not {spec!r}') from None
    if not 0 < scale <= 1:
        raise ForceFieldError(f'the factor of scaled must lie in (0, 1], not {scale:g}')
    return ChargeModel('scaled', scale)
