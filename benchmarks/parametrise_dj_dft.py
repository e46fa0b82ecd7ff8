"""Wall time of the ParametriseWorkChain per material, Gasteiger (gas) against AM1-BCC (bcc) charges.

What it measures: for COUNT dj-dft structures evenly spaced in the sorted listing (file number
``i * (N // COUNT)``, i = 0..COUNT-1; with the 472 files and COUNT=20 that is every 23rd file, from
00001.cif), the wall time of one in-process ParametriseWorkChain per structure and charge method
(decomposition, antechamber, parmchk2, tleap as CalcJobs on localhost, LAMMPS topology at the
default 3x3x3 replication). Why: parametrisation runs once per material before any MD, so it must
stay small beside the MD it feeds, and the cost of AM1-BCC (sqm) over Gasteiger should be known.

The script makes its own AiiDA profile in a temporary folder (``aiida-perovskite setup``), never
touches ``~/.aiida``, and deletes the folder at the end. A first, untimed run (first file, gas)
absorbs import and first-use costs; its time is printed apart.

Usage: ``python benchmarks/parametrise_dj_dft.py [FOLDER [COUNT]]``
(default: ../shared/data/cifs/dj-dft, 20).
"""

import os
import pathlib
import shutil
import statistics
import sys
import tempfile
import time

from private_profile import open_private_profile  # benchmarks/, the script's folder, is on sys.path

DEFAULT = pathlib.Path(__file__).resolve().parents[1].parent / 'shared' / 'data' / 'cifs' / 'dj-dft'
PROFILE = 'parametrise-benchmark'
METHODS = ('gas', 'bcc')
STAGES = {'decompose_cif': 'decompose', 'AntechamberCalculation': 'antechamber', 'Parmchk2Calculation': 'parmchk2',
          'TleapCalculation': 'tleap', 'write_lammps_topology': 'topology'}


def parametrise(path: pathlib.Path, charges: str, codes) -> tuple[float, str | None, dict[str, float]]:
    """Run the work chain on one CIF; return its wall time, the failure message (None on success) and
    the seconds spent in each stage (from the child nodes' creation and last-change times; the rest,
    ``engine``, is process and job-polling overhead between stages)."""
    from aiida import orm
    from aiida.engine import run_get_node

    from aiida_perovskite.workflows.parametrise import ParametriseWorkChain

    tick = time.perf_counter()
    stages = dict.fromkeys([*STAGES.values(), 'engine'], 0.0)
    try:
        cif = orm.CifData(file=str(path), filename=path.name)  # the method's force field and 3x3x3 cells
        _, node = run_get_node(ParametriseWorkChain.get_builder_from_protocol(codes, cif, 'thesis',
                                                                              {'charge_method': charges}))
        failure = None if node.is_finished_ok else f'[{node.exit_status}] {node.exit_message}'
        for child in node.called_descendants:
            stage = STAGES.get(child.process_label, 'engine')
            stages[stage] += (child.mtime - child.ctime).total_seconds()
    except Exception as error:  # noqa: BLE001 - an exception is a failure to report, not a reason to stop
        failure = f'{type(error).__name__}: {error}'
    seconds = time.perf_counter() - tick
    stages['engine'] += seconds - sum(stages.values())
    return seconds, failure, stages


def main(folder: pathlib.Path, count: int) -> int:
    files = sorted(folder.resolve().glob('*.cif'))  # absolute: CifData refuses a relative path
    if not files:
        print(f'skipped: no CIF files in {folder} (the shared data must be beside the checkout)')
        return 0
    step = max(1, len(files) // count)
    chosen = files[::step][:count]

    workdir = pathlib.Path(tempfile.mkdtemp(prefix='aiida-perovskite-bench-'))
    os.environ['AIIDA_PATH'] = str(workdir)  # before aiida is imported: the private config folder
    try:
        if not open_private_profile(PROFILE):
            return 1

        from aiida.manage import get_manager

        from aiida_perovskite.tools.codes import load_codes

        codes = load_codes(tools=('antechamber', 'parmchk2', 'tleap'))  # not lammps: the work chain refuses it

        first = parametrise(chosen[0], 'gas', codes)[0]
        times = {method: [] for method in METHODS}
        stages = {method: [] for method in METHODS}
        failures = []
        start = time.perf_counter()
        for method in METHODS:
            for path in chosen:
                seconds, failure, spent = parametrise(path, method, codes)
                if failure:
                    failures.append((path.name, method, failure))
                else:  # a refusal takes a fraction of a second: it would only blur the figures
                    times[method].append(seconds)
                    stages[method].append(spent)
        total = time.perf_counter() - start
        get_manager().unload_profile()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    print(f'structures: {len(chosen)} of {len(files)} in {folder} (one in {step} sorted files, '
          f'{chosen[0].name} .. {chosen[-1].name}), replication 3x3x3')
    print(f'first run (imports, parameter-set node; not counted): {first:.1f} s')
    print(f'{"charges":8s} {"median s":>9s} {"min s":>7s} {"max s":>7s} {"total s":>8s} {"failed":>7s}'
          '   (times of the successful runs)')
    for method in (m for m in METHODS if times[m]):
        values = times[method]
        failed = sum(m == method for _, m, _ in failures)
        print(f'{method:8s} {statistics.median(values):9.1f} {min(values):7.1f} {max(values):7.1f} '
              f'{sum(values):8.1f} {failed:7d}')
    names = [*STAGES.values(), 'engine']
    print('median s per stage: ' + ' '.join(f'{name:>11s}' for name in names))
    for method in (m for m in METHODS if stages[m]):
        print(f'{method:19s} ' + ' '.join(f'{statistics.median(s[name] for s in stages[method]):11.2f}'
                                          for name in names))
    print(f'total: {total:.1f} s for {len(METHODS) * len(chosen)} work chains, {len(failures)} failed')
    for name, method, failure in failures:
        print(f'  failed: {name} {method}: {failure}')
    return 0


if __name__ == '__main__':
    arguments = sys.argv[1:]
    sys.exit(main(pathlib.Path(arguments[0]) if arguments else DEFAULT,
                  int(arguments[1]) if len(arguments) > 1 else 20))
