"""Write the example structures (ideal-geometry cells the project builds itself) to a folder.

Usage: ``python examples/make_example_structures.py [FOLDER]`` (default: examples/structures).
"""

import pathlib
import sys

from pymatgen.io.cif import CifWriter

from aiida_perovskite.build import alkylammonium, layered_perovskite

EXAMPLES = {
    # file name: (spacer, phase, n, metal, halide)
    'ba2pbi4_rp_n1.cif': (alkylammonium(4), 'RP', 1, 'Pb', 'I'),
    'ba2mapb2i7_rp_n2.cif': (alkylammonium(4), 'RP', 2, 'Pb', 'I'),
    'pa2pbbr4_rp_n1.cif': (alkylammonium(3), 'RP', 1, 'Pb', 'Br'),
    'bdapbi4_dj_n1.cif': (alkylammonium(4, diammonium=True), 'DJ', 1, 'Pb', 'I'),
    'hdapbi4_dj_n1.cif': (alkylammonium(6, diammonium=True), 'DJ', 1, 'Pb', 'I'),
}


def main(folder: pathlib.Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, (spacer, phase, n, metal, halide) in EXAMPLES.items():
        structure = layered_perovskite(spacer, phase=phase, n=n, metal=metal, halide=halide)
        CifWriter(structure).write_file(folder / name)
        print(f'wrote {folder / name} ({structure.composition.reduced_formula}, {len(structure)} atoms)')


if __name__ == '__main__':
    main(pathlib.Path(sys.argv[1]) if len(sys.argv) > 1 else pathlib.Path(__file__).parent / 'structures')
