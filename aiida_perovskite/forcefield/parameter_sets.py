"""Literature parameter sets for the inorganic ions and the organic-inorganic cross terms.

The values are data, not code: one YAML file per set in ``sets/``,
each with its version, units, citations and whether it was verified. The
organic-organic terms come from GAFF (antechamber/parmchk2/tleap), so a set
only has to describe ion-ion and ion-organic pairs.

Spacer heteroatoms (S, O, F, Cl, Br in a molecule) and hydrogens on them have
no cross terms in the MYP family. What happens then is a policy, chosen by the
user and recorded with every topology:

``heavy-as-cn`` (default)
    a heavy organic atom without its own ion pair takes the ion-(C,N) term (the
    set has one value for C and N); a hydrogen on O or S takes the H-on-N term
    (a polar hydrogen). The published Br-family file applies one ion-heavy-atom
    term to C, N, S, O and F alike, which is the precedent for this choice.
``refuse``
    such a structure is refused, naming the element and the sets that exist.

A set may instead give ions Lennard-Jones parameters of their own (``ion_lennard_jones``)
with ``cross_terms: lorentz-berthelot``: every pair of such an ion with an organic atom is
then mixed from the ion's and the organic atom's GAFF values, as AMBER mixes organic pairs,
so any spacer element is covered without a heteroatom assumption. A Buckingham term the set
lists for such an ion and an organic element replaces the mixed one for that element (the
halide-N wall of the hydrogen bond, say). Ions without values keep the tabulated terms.
"""

from __future__ import annotations

import dataclasses
import pathlib
from functools import cache

import yaml

__all__ = (
    'HETEROATOM_POLICIES',
    'ForceFieldError',
    'MissingParametersError',
    'ParameterSet',
    'available_parameter_sets',
    'load_parameter_set',
    'resolve_parameter_set',
    'select_parameter_set',
    'validation_holds',
    'validation_summary',
)

DATA = pathlib.Path(__file__).parent / 'sets'
HETEROATOM_POLICIES = ('heavy-as-cn', 'refuse')
CROSS_TERMS = ('table', 'lorentz-berthelot')
_POLAR = ('N', 'O', 'S')


class ForceFieldError(ValueError):
    """A structure or a choice the force field cannot describe."""

    code = 'forcefield_error'


class MissingParametersError(ForceFieldError):
    """An element (or pair) has no parameters in the chosen set."""

    code = 'missing_parameters'


@dataclasses.dataclass(frozen=True)
class ParameterSet:
    """One versioned, citable set of ion and ion-organic parameters (LAMMPS real units)."""

    name: str
    version: int
    description: str
    citations: tuple[str, ...]
    verified: bool
    ions: dict[str, dict[str, float]]
    buckingham: dict[tuple[str, str], tuple[float, float, float]]
    lennard_jones: dict[tuple[str, str], tuple[float, float]]
    #: ``table`` (ion-organic pairs listed by element) or ``lorentz-berthelot`` (mixed from ion_lj).
    cross_terms: str = 'table'
    #: Per ion ``(epsilon, sigma)`` for mixed ion-organic pairs.
    ion_lj: dict[str, tuple[float, float]] = dataclasses.field(default_factory=dict)
    #: How values were derived when the literature had none (``forcefield.fitting``), else empty.
    fit: dict = dataclasses.field(default_factory=dict)
    #: The validation against experimental cells that ``verified`` rests on (see :func:`validation_holds`).
    validation: dict = dataclasses.field(default_factory=dict)
    #: Sets this one replaces: ``auto`` passes over them while this one is validated (they stay usable by name).
    supersedes: tuple[str, ...] = ()

    @property
    def elements(self) -> list[str]:
        return sorted(self.ions)

    def buckingham_pair(self, a: str, b: str) -> tuple[float, float, float] | None:
        return self.buckingham.get((a, b)) or self.buckingham.get((b, a))

    def ion_organic_pair(self, ion: str, element: str, bonded_to: str | None = None, policy: str = 'heavy-as-cn',
                         organic_lj: tuple[float, float] | None = None):
        """The term between ``ion`` and an organic atom, and the assumption made to get it (or ``None``).

        :param element: the organic atom's element.
        :param bonded_to: for a hydrogen, the element it is bonded to.
        :param organic_lj: the organic atom's own ``(epsilon, sigma)``, for a mixing set (``None``
            only asks whether the pair is covered: the coefficients come back ``None``).
        :returns: ``(style, coefficients, assumption)`` with style ``'buck'`` or ``'lj'``.
        :raises MissingParametersError: under the ``refuse`` policy, or when even the fallback is missing.
        """
        _check_policy(policy)
        if self.cross_terms == 'lorentz-berthelot' and ion in self.ion_lj:  # ions without values use the table
            explicit = self.buckingham_pair(ion, element) if element != 'H' else None
            if explicit is not None:  # a pair the set tabulates itself (e.g. the hydrogen-bond donor's wall)
                return 'buck', explicit, None
            if organic_lj is None:
                return 'lj', None, None
            epsilon, sigma = self.ion_lj[ion]
            return 'lj', (float((epsilon * organic_lj[0]) ** 0.5), (sigma + organic_lj[1]) / 2), None
        if element == 'H':
            h_class = 'H_N' if bonded_to == 'N' else 'H_C' if bonded_to == 'C' else None
            assumption = None
            if h_class is None:
                if policy == 'refuse' or bonded_to not in _POLAR:
                    raise MissingParametersError(
                        f'{self.name} has no {ion}-H term for a hydrogen bonded to {bonded_to} '
                        f'(it has H on N and H on C); policy {policy!r}'
                    )
                h_class, assumption = 'H_N', f'{ion}-H on {bonded_to} takes the {ion}-H(on N) term'
            coefficients = self.lennard_jones.get((ion, h_class))
            if coefficients is None:
                raise MissingParametersError(f'{self.name} has no {ion}-{h_class} Lennard-Jones term')
            return 'lj', coefficients, assumption
        coefficients = self.buckingham_pair(ion, element)
        if coefficients is not None:
            return 'buck', coefficients, None
        fallback = self.buckingham_pair(ion, 'C')
        if policy == 'refuse' or fallback is None:
            raise MissingParametersError(
                f'{self.name} has no {ion}-{element} term for the spacer atom {element} (policy {policy!r}); '
                f'choose the heavy-as-cn policy or another set: {", ".join(available_parameter_sets())}'
            )
        return 'buck', fallback, f'{ion}-{element} takes the {ion}-(C,N) Buckingham term'

    def check_elements(self, inorganic: set[str]) -> None:
        """Raise :class:`MissingParametersError` naming inorganic elements the set does not describe."""
        missing = sorted(set(inorganic) - set(self.ions))
        if missing:
            others = [
                f'{name} ({", ".join(load_parameter_set(name).elements)})' for name in available_parameter_sets()
            ]
            raise MissingParametersError(
                f'no parameters for {", ".join(missing)} in the set {self.name!r} '
                f'(it covers {", ".join(self.elements)}); available sets: {"; ".join(others)}'
            )

    def as_dict(self) -> dict:
        """A JSON-serialisable copy (stored on the provenance node)."""
        data = {
            'name': self.name,
            'version': self.version,
            'description': self.description,
            'citations': list(self.citations),
            'verified': self.verified,
            'units': 'real',
            'ions': self.ions,
            'buckingham': [[a, b, *values] for (a, b), values in self.buckingham.items()],
            'lennard_jones': [[a, b, *values] for (a, b), values in self.lennard_jones.items()],
        }
        if self.cross_terms != 'table':  # tabulated sets keep the content their stored nodes already have
            data.update(cross_terms=self.cross_terms,
                        ion_lennard_jones={ion: list(values) for ion, values in self.ion_lj.items()})
        if self.fit:
            data['fit'] = self.fit
        if self.validation:
            data['validation'] = self.validation
        if self.supersedes:
            data['supersedes'] = list(self.supersedes)
        return data

    @classmethod
    def from_dict(cls, data: dict) -> ParameterSet:
        ions = {element: {'charge': float(v['charge']), 'mass': float(v['mass'])} for element, v in data['ions'].items()}
        buckingham = {(a, b): (float(A), float(rho), float(C)) for a, b, A, rho, C in data['buckingham']}
        lennard_jones = {(a, h): (float(eps), float(sigma)) for a, h, eps, sigma in data.get('lennard_jones', [])}
        cross_terms = data.get('cross_terms', 'table')
        if cross_terms not in CROSS_TERMS:
            raise ValueError(f'parameter set {data["name"]}: cross_terms must be one of {CROSS_TERMS}')
        ion_lj = {}
        for ion, values in (data.get('ion_lennard_jones') or {}).items():
            if isinstance(values, dict):  # as published in UFF: well depth D and minimum distance x
                values = (values['D'], values['x'] / 2 ** (1 / 6))
            ion_lj[ion] = (float(values[0]), float(values[1]))
        if cross_terms == 'lorentz-berthelot' and (not ion_lj or set(ion_lj) - set(ions)):
            raise ValueError(f'parameter set {data["name"]}: mixed cross terms need Lennard-Jones values of its ions')
        for a, b in buckingham:
            if a not in ions and b not in ions:
                raise ValueError(f'parameter set {data["name"]}: Buckingham pair {a}-{b} names no ion of the set')
        for a in ions:
            for b in ions:
                if (a, b) not in buckingham and (b, a) not in buckingham:
                    raise ValueError(f'parameter set {data["name"]}: ion pair {a}-{b} has no Buckingham term')
        validation = dict(data.get('validation') or {})
        verified = validation_holds(validation)
        if 'verified' in data and bool(data['verified']) != verified:
            raise ValueError(
                f'parameter set {data["name"]}: verified is {data["verified"]} but its validation '
                f'{"holds" if verified else "is missing or does not hold"} ({validation_summary(validation)})'
            )
        return cls(
            name=data['name'],
            version=int(data['version']),
            description=' '.join(str(data.get('description', '')).split()),
            citations=tuple(' '.join(c.split()) for c in data.get('citations', [])),
            verified=verified,
            ions=ions,
            buckingham=buckingham,
            lennard_jones=lennard_jones,
            cross_terms=cross_terms,
            ion_lj=ion_lj,
            fit=dict(data.get('fit') or {}),
            validation=validation,
            supersedes=tuple(data.get('supersedes') or ()),
        )


def validation_holds(validation: dict) -> bool:
    """Whether a set's recorded validation meets its own stated tolerance.

    ``validation`` holds ``tolerance`` (``volume_percent``: the largest acceptable mean absolute
    deviation of the volume per metal; ``octahedra_share``: the smallest acceptable share of octahedra
    intact in any cell) and ``cells``, one record per experimental cell (``reference``, ``volume`` in
    percent, ``octahedra`` share, ...). A set without cells is not verified: ``verified`` means
    "validated against experimental cells within the stated tolerance", not "values copied correctly".
    """
    tolerance = validation.get('tolerance') or {}
    figures = _validation_figures(validation)
    if figures is None or 'volume_percent' not in tolerance or 'octahedra_share' not in tolerance:
        return False
    mean_volume, worst = figures
    return mean_volume <= float(tolerance['volume_percent']) and float(worst['octahedra']) >= float(tolerance['octahedra_share'])


def _validation_figures(validation: dict) -> tuple[float, dict] | None:
    """Mean absolute volume deviation (percent) over the cells and the cell with the fewest octahedra intact, or
    None without cells."""
    cells = validation.get('cells') or []
    if not cells:
        return None
    return (sum(abs(float(cell['volume'])) for cell in cells) / len(cells),
            min(cells, key=lambda cell: float(cell['octahedra'])))


def validation_summary(validation: dict) -> str:
    """One line: the cells, mean absolute volume deviation and worst octahedra share against the tolerance."""
    figures = _validation_figures(validation)
    if figures is None:
        return 'no validation against experimental cells recorded'
    tolerance = validation.get('tolerance') or {}
    mean_volume, worst = figures
    share = float(worst['octahedra'])
    named = f'worst: {worst["reference"]}; ' if share < 1 and worst.get('reference') else ''
    return (f'{len(validation["cells"])} experimental cell(s): mean |volume| {mean_volume:.1f}% '
            f'(tolerance {tolerance.get("volume_percent", "?")}%), octahedra intact >= {share:.2f} '
            f'({named}tolerance {tolerance.get("octahedra_share", "?")})')


def available_parameter_sets() -> list[str]:
    """Names of the parameter sets shipped with the package."""
    return sorted(path.stem for path in DATA.glob('*.yaml'))


@cache
def load_parameter_set(name: str) -> ParameterSet:
    """Load a shipped parameter set by name.

    :raises MissingParametersError: no set has that name (the message lists those that exist).
    """
    path = DATA / f'{name}.yaml'
    if not path.is_file():
        raise MissingParametersError(
            f'no parameter set named {name!r}; available: {", ".join(available_parameter_sets())}'
        )
    return ParameterSet.from_dict(yaml.safe_load(path.read_text()))


def select_parameter_set(inorganic: set[str]) -> ParameterSet:
    """The first shipped set by name that covers every inorganic element and whose validation holds, passing
    over a set that another such set ``supersedes``.

    A set that covers the elements but failed (or lacks) validation against experimental cells is
    never chosen automatically: the error names it and why, and the user may still ask for it by name.

    :raises MissingParametersError: naming the elements, what each set covers, or why a covering set was refused.
    """
    sets = [load_parameter_set(name) for name in available_parameter_sets()]
    covering = [s for s in sets if set(inorganic) <= set(s.ions)]
    validated = [s for s in covering if s.verified]
    superseded = {name for s in validated for name in s.supersedes}
    if validated:
        return next((s for s in validated if s.name not in superseded), validated[0])
    elements = ', '.join(sorted(inorganic))
    if covering:
        refused = '; '.join(f'{s.name}: {validation_summary(s.validation)}' for s in covering)
        raise MissingParametersError(
            f'no validated parameter set covers {elements}: refused {refused}; name a set to use it anyway'
        )
    described = '; '.join(f'{s.name} ({", ".join(s.elements)})' for s in sets)
    raise MissingParametersError(f'no parameter set covers {elements}; available: {described}')


def _check_policy(policy: str) -> None:
    if policy not in HETEROATOM_POLICIES:
        raise ForceFieldError(f'unknown heteroatom policy {policy!r}; choose one of {", ".join(HETEROATOM_POLICIES)}')


def resolve_parameter_set(spec: str, inorganic: set[str]) -> ParameterSet:
    """The set a ``parameter_set`` input asks for: a name, ``auto`` (:func:`select_parameter_set`) or a
    comma-separated preference list such as ``myp-pbi-uffi, auto`` (the first entry covering ``inorganic``).

    :raises MissingParametersError: an unknown name, or no entry covers the elements (naming each one's coverage).
    """
    names = [name.strip() for name in str(spec).split(',') if name.strip()]
    if not names:
        raise MissingParametersError(f'no parameter set named in {spec!r}')
    reasons = []
    for name in names:
        try:
            chosen = select_parameter_set(inorganic) if name == 'auto' else load_parameter_set(name)
            chosen.check_elements(inorganic)
            return chosen
        except MissingParametersError as error:
            if len(names) == 1:
                raise
            reasons.append(f'{name}: {error}')
    raise MissingParametersError(f'none of {", ".join(names)} covers {", ".join(sorted(inorganic))} ({"; ".join(reasons)})')
