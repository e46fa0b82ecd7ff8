"""Write the example structures to a folder: cells the project builds itself from bundled spacers.

Each cell comes from :func:`aiida_perovskite.builder.build_perovskite` (what ``aiida-perovskite build``
does) for a spacer of the bundled list (``aiida_perovskite/builder/spacers.yaml``); they are hypothetical,
unrelaxed cells, sound enough to validate, decompose, parametrise and simulate, not experimental ones.
The files are written the same on every machine (:func:`aiida_perovskite.structure.format_cif`), so
running this script (as ``make demo`` does) over the committed ones leaves them unchanged.

Usage: ``python examples/make_example_structures.py [FOLDER]`` (default: examples/structures).
"""

import pathlib
import sys

from aiida_perovskite.builder import build_perovskite, find_spacer
from aiida_perovskite.structure import format_cif

EXAMPLES = {
    # file name: (bundled spacer, phase, n, metal, halide)
    'ba2pbi4_rp_n1.cif': ('BA', 'RP', 1, 'Pb', 'I'),
    'ba2mapb2i7_rp_n2.cif': ('BA', 'RP', 2, 'Pb', 'I'),
    'pa2pbbr4_rp_n1.cif': ('PA', 'RP', 1, 'Pb', 'Br'),
    'pea2pbi4_rp_n1.cif': ('PEA', 'RP', 1, 'Pb', 'I'),
    'bdapbi4_dj_n1.cif': ('BDA', 'DJ', 1, 'Pb', 'I'),
    'hdapbi4_dj_n1.cif': ('HDA', 'DJ', 1, 'Pb', 'I'),
    # Spanning what sets the volume per atom (the organic share: spacer length, n, the halide), so that the
    # demo's dozen materials hold a trend a model can learn; the demo's candidates (HA, ODA, BZA) stay out.
    'ea2pbi4_rp_n1.cif': ('EA', 'RP', 1, 'Pb', 'I'),
    'oa2pbi4_rp_n1.cif': ('OA', 'RP', 1, 'Pb', 'I'),
    'da2pbi4_rp_n1.cif': ('DA', 'RP', 1, 'Pb', 'I'),
    'ba2ma2pb3i10_rp_n3.cif': ('BA', 'RP', 3, 'Pb', 'I'),
    'ba2pbbr4_rp_n1.cif': ('BA', 'RP', 1, 'Pb', 'Br'),
    'pdapbi4_dj_n1.cif': ('PDA', 'DJ', 1, 'Pb', 'I'),
}


def main(folder: pathlib.Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, (abbreviation, phase, n, metal, halide) in EXAMPLES.items():
        spacer = find_spacer(abbreviation)
        result = build_perovskite(spacer['smiles'], phase=phase, n=n, metal=metal, halide=halide)
        structure = result.structure
        (folder / name).write_text(format_cif(structure))
        print(f'wrote {folder / name} ({structure.composition.reduced_formula}, {len(structure)} atoms, '
              f'{spacer["name"]} {result.spacer.smiles})')


if __name__ == '__main__':
    main(pathlib.Path(sys.argv[1]) if len(sys.argv) > 1 else pathlib.Path(__file__).parent / 'structures')
