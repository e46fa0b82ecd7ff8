"""Inspect every dj-dft structure on one core and print the wall time and per-structure figures.

Goal (issue 2): all 472 structures in under a minute on one core.
Usage: ``python benchmarks/inspect_dj_dft.py [FOLDER]`` (default: ../shared/data/cifs/dj-dft).
"""

import os

os.environ.setdefault('OMP_NUM_THREADS', '1')  # before numpy is imported: one core means one thread
os.environ.setdefault('OPENBLAS_NUM_THREADS', '1')

import pathlib  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

from aiida_perovskite.structure import StructureError, inspect_cif  # noqa: E402

DEFAULT = pathlib.Path(__file__).resolve().parents[1].parent / 'shared' / 'data' / 'cifs' / 'dj-dft'


def main(folder: pathlib.Path) -> int:
    if hasattr(os, 'sched_setaffinity'):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    files = sorted(folder.glob('*.cif'))
    if not files:
        print(f'no CIF files in {folder} (the shared data must be beside the checkout)')
        return 1
    inspect_cif(files[0])  # import and first-call costs are not per-structure costs

    times, failures = [], []
    start = time.perf_counter()
    for path in files:
        tick = time.perf_counter()
        try:
            inspect_cif(path)
        except StructureError as error:
            failures.append(f'{path.name}: {type(error).__name__}')
        times.append(time.perf_counter() - tick)
    total = time.perf_counter() - start

    times_ms = sorted(1000 * t for t in times)
    print(f'structures:         {len(files)} ({len(files) - len(failures)} decomposed, {len(failures)} failed)')
    print(f'wall time:          {total:.1f} s on one core (goal: under 60 s)')
    print(f'per structure (ms): median {statistics.median(times_ms):.1f}, '
          f'90th percentile {times_ms[int(0.9 * len(times_ms))]:.1f}, max {times_ms[-1]:.1f}')
    for failure in failures:
        print(f'  failed: {failure}')
    return 0


if __name__ == '__main__':
    sys.exit(main(pathlib.Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT))
