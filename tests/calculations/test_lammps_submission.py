"""What LammpsSegmentCalculation submits: MPI ranks, OpenMP threads, timeout, restart links (dry runs)."""

import pathlib

import pytest
from aiida import orm
from aiida.engine import run_get_node

from aiida_perovskite.calculations.lammps import LammpsSegmentCalculation
from aiida_perovskite.data import LammpsTopologyData
from aiida_perovskite.forcefield import load_parameter_set
from aiida_perovskite.forcefield.lammps import build_system
from aiida_perovskite.workflows.ladder import TemperatureLadderWorkChain, segment_settings


def topology_node():
    from pymatgen.core import Lattice, Structure

    pbi2 = Structure(Lattice.hexagonal(4.56, 6.98), ['Pb', 'I', 'I'], [[0, 0, 0], [1 / 3, 2 / 3, 0.25], [2 / 3, 1 / 3, 0.75]])
    system = build_system(None, [(s.specie.symbol, s.coords) for s in pbi2], pbi2.lattice.matrix,
                          load_parameter_set('myp-pbi'))
    return LammpsTopologyData.from_system(system, cutoff=10.0, kspace_accuracy=1e-4).store()


def npt_segment(**settings) -> orm.Dict:
    """An NPT segment of the fast ladder at 300 K (the topology's PPPM accuracy given: there is no topology yet)."""
    ladder = {**TemperatureLadderWorkChain.get_protocol_inputs('fast'), 'kspace_accuracy': 1e-4}
    return orm.Dict(segment_settings(ladder, None, 'npt', temperature=300.0, **settings))


def dry_run(code, **inputs):
    _, node = run_get_node(LammpsSegmentCalculation, code=code, topology=topology_node(),
                           metadata={'dry_run': True, 'store_provenance': False, **inputs.pop('metadata', {})}, **inputs)
    return pathlib.Path(node.dry_run_info['folder'])


@pytest.fixture(autouse=True)
def in_temporary_folder(tmp_path, monkeypatch):
    """AiiDA writes dry runs to ./submit_test: keep them out of the checkout."""
    monkeypatch.chdir(tmp_path)


def test_ranks_threads_and_walltime(aiida_code_installed):
    code = aiida_code_installed(default_calc_job_plugin='perovskite.lammps', filepath_executable='/bin/true')
    options = {'resources': {'num_machines': 1, 'num_mpiprocs_per_machine': 2, 'num_cores_per_mpiproc': 3},
               'max_wallclock_seconds': 3600}
    folder = dry_run(code, parameters=npt_segment(target_step=100), metadata={'options': options})
    script = (folder / '_aiidasubmit.sh').read_text()
    assert "'-np' '2'" in script and "'-sf' 'omp' '-pk' 'omp' '3'" in script
    assert 'export OMP_NUM_THREADS=3' in script
    lammps_input = (folder / 'in.lammps').read_text()
    assert 'timer timeout 3420 every 10' in lammps_input  # 5% before the wall-time
    assert 'include forcefield.lmp' in lammps_input
    assert sorted(p.name for p in folder.glob('*.lmp')) == ['coefficients.lmp', 'data.lmp', 'forcefield.lmp']


def test_continuation_links_the_parent_restarts(aiida_code_installed, aiida_localhost, tmp_path):
    code = aiida_code_installed(default_calc_job_plugin='perovskite.lammps', filepath_executable='/bin/true')
    parent = orm.RemoteData(computer=aiida_localhost, remote_path=str(tmp_path / 'parent')).store()
    folder = dry_run(code, parameters=npt_segment(target_step=100), parent_folder=parent)
    lammps_input = (folder / 'in.lammps').read_text()
    assert 'read_restart restart.*' in lammps_input and 'include coefficients.lmp' in lammps_input
    assert not (folder / 'data.lmp').exists()  # the restart carries the system
