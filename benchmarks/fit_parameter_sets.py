"""Derive the Sn(II) iodide, Sn(II) bromide and lead chloride parameter sets, and check the method.

The fitting step (``aiida_perovskite.forcefield.fitting``) moves the B-X Buckingham wall of a validated
set until the rigid-ion 3D crystal MABX3 reproduces the measured lattice ratio to the validated pair
(Weber 1978 cubic lattices). Before trusting it for new pairs it is checked on a pair whose
parameters were published independently: the MYP iodide and the bromide member of the family give
MAPbBr3/MAPbI3 without any fit, and the printed deviation from the measured ratio is the method's
expected error.

Prints one line per set (fitted prefactor, model and measured ratio, model lattice) and, with
``--write``, writes the YAML files into ``aiida_perovskite/forcefield/sets/`` (what the shipped sets
are; a test reruns the fit and compares). ``--check`` exits non-zero if a shipped set differs
from a fresh fit.

Usage: ``python benchmarks/fit_parameter_sets.py [--write | --check]``
"""

from __future__ import annotations

import argparse
import pathlib
import sys

import yaml

from aiida_perovskite.forcefield import load_parameter_set
from aiida_perovskite.forcefield.fitting import LATTICE_REFERENCES, derive_parameter_set, equilibrium_lattice

SETS = pathlib.Path(__file__).resolve().parents[1] / 'aiida_perovskite' / 'forcefield' / 'sets'

#: name -> (reference set, metal, halide, halide-series set, description, extra citations)
DERIVED = {
    'myp-sni-fit': ('myp-pbi-uffi', 'Sn', 'I', None,
                    'Sn(II) iodide derived from myp-pbi-uffi: Sn takes Pb\'s Sn-Sn and Sn-organic terms; the '
                    'Sn-I Buckingham prefactor is fitted so that the rigid-ion MASnI3/MAPbI3 lattice ratio '
                    'equals the measured one; iodide-organic terms UFF mixed as in myp-pbi-uffi.'),
    'myp-snbr-fit': ('myp-pbbr-uffbr', 'Sn', 'Br', None,
                     'Sn(II) bromide derived from myp-pbbr-uffbr: Sn takes Pb\'s Sn-Sn and Sn-organic terms; '
                     'the Sn-Br Buckingham prefactor is fitted so that the rigid-ion MASnBr3/MAPbBr3 lattice '
                     'ratio equals the measured one; bromide-organic terms UFF mixed.'),
    'myp-pbcl-fit': ('myp-pbbr-uffbr', 'Pb', 'Cl', 'myp-pbi',
                     'Lead chloride derived from myp-pbbr-uffbr: the Cl-Cl term continues the I-I -> Br-Br '
                     'change of the MYP family one step (same ratios of A, rho and C); the Pb-Cl Buckingham '
                     'prefactor (rho of Pb-Br) is fitted so that the rigid-ion MAPbCl3/MAPbBr3 lattice ratio '
                     'equals the measured one; chloride-organic terms mixed from UFF chlorine.'),
    # The same three with the hydrogen-bond donor's wall: the reference's halide-N Buckingham term is kept (same
    # halide) or continued along the halide series (Cl-N from MYP I-N and Hata Br-N, as Cl-Cl).
    'myp-sni-hb': ('myp-pbi-hb', 'Sn', 'I', None,
                   'Sn(II) iodide derived from myp-pbi-hb as myp-sni-fit is from myp-pbi-uffi (the Sn-I prefactor '
                   'fitted to the rigid-ion MASnI3/MAPbI3 lattice ratio), keeping MYP\'s I-N wall for the ammonium N.'),
    'myp-snbr-hb': ('myp-pbbr-hb', 'Sn', 'Br', None,
                    'Sn(II) bromide derived from myp-pbbr-hb as myp-snbr-fit is from myp-pbbr-uffbr (the Sn-Br '
                    'prefactor fitted to the rigid-ion MASnBr3/MAPbBr3 lattice ratio), keeping the Br-N wall.'),
    'myp-pbcl-hb': ('myp-pbbr-hb', 'Pb', 'Cl', 'myp-pbi',
                    'Lead chloride derived from myp-pbbr-hb as myp-pbcl-fit is from myp-pbbr-uffbr (Cl-Cl continued '
                    'from I-I and Br-Br, the Pb-Cl prefactor fitted to MAPbCl3/MAPbBr3); the Cl-N wall continues MYP '
                    'I-N -> Hata Br-N one step by the same ratios of A and rho (+1 kcal/mol at 3.98, 3.84, 3.70 A).'),
}
UFF = ('A. K. Rappe, C. J. Casewit, K. S. Colwell, W. A. Goddard III, W. M. Skiff, J. Am. Chem. Soc. 114 '
       '(1992) 10024, doi:10.1021/ja00051a040 (UFF halogen Lennard-Jones values)')


def derive(name: str) -> dict:
    reference, metal, halide, series, description = DERIVED[name]
    content, _ = derive_parameter_set(load_parameter_set(reference), metal, halide,
                                      series=load_parameter_set(series) if series else None, name=name)
    content['description'] = description
    content['citations'] = [f'derived from {reference} (see its citations)', *content['fit']['lattice_sources'], UFF]
    return content


def check_method() -> str:
    iodide, bromide = load_parameter_set('myp-pbi'), load_parameter_set('myp-pbbr')
    model = equilibrium_lattice('Pb', 'Br', bromide) / equilibrium_lattice('Pb', 'I', iodide)
    measured = LATTICE_REFERENCES[('Pb', 'Br')][0] / LATTICE_REFERENCES[('Pb', 'I')][0]
    return (f'method check, no fit: MAPbBr3/MAPbI3 from myp-pbbr and myp-pbi {model:.4f}, measured {measured:.4f} '
            f'({100 * (model / measured - 1):+.2f} %)')


def main(arguments) -> int:
    print(check_method())
    differs = []
    for name in DERIVED:
        content = derive(name)
        fit = content['fit']
        pair = [row for row in content['buckingham'] if {row[0], row[1]} == {DERIVED[name][1], DERIVED[name][2]}][0]
        print(f'{name}: {pair[0]}-{pair[1]} A = {pair[2]:.1f} kcal/mol (rho {pair[3]:.4f} A); lattice ratio '
              f'model {fit["model_ratio"]:.4f}, measured {fit["target_ratio"]:.4f}; model lattice {fit["model_lattice"]:.3f} A')
        path = SETS / f'{name}.yaml'
        if arguments.write:
            shipped = yaml.safe_load(path.read_text()) if path.exists() else {}
            for key in ('validation', 'version'):  # set by validation, not by the fit
                if key in shipped:
                    content[key] = shipped[key]
            header = '# Written by benchmarks/fit_parameter_sets.py --write (do not edit the fitted values by hand).\n'
            path.write_text(header + yaml.safe_dump(content, sort_keys=False, width=100))
        elif arguments.check:
            shipped = yaml.safe_load(path.read_text())
            if shipped['buckingham'] != content['buckingham'] or shipped['fit'] != content['fit']:
                differs.append(name)
    if differs:
        print(f'shipped sets differ from a fresh fit: {", ".join(differs)}')
        return 1
    return 0


if __name__ == '__main__':
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--write', action='store_true')
    parser.add_argument('--check', action='store_true')
    sys.exit(main(parser.parse_args()))
