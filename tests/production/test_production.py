"""Production set-up: a PostgreSQL + RabbitMQ profile, and a computer reached through SSH with SLURM.

Everything runs as a user would at a terminal, in its own AiiDA configuration folder (so the
pytest session's profile is untouched): ``verdi profile setup core.psql_dos``, ``verdi profile
configure-broker core.rabbitmq``, ``aiida-perovskite setup --config cluster.yaml`` (``core.ssh``
to the test's sshd, ``core.slurm``), then ``aiida-perovskite run --daemon`` of the ``fast``
protocol on (BA)2PbI4: the parametrisation (antechamber, parmchk2, tleap) and every ladder
segment (LAMMPS) are SLURM jobs submitted over SSH by the daemon, which takes its tasks from
RabbitMQ and stores the provenance in PostgreSQL. The services come from ``conftest.py``.
"""

from __future__ import annotations

import json
import os
import pathlib
import re
import sys
import time

import pytest
import yaml

pytestmark = pytest.mark.production

BIN = pathlib.Path(sys.executable).parent
PROFILE = 'production'
COMPUTER = 'slurm-ssh'
DATABASE = 'aiida_production'

RESULTS = '''
import json, sys
from aiida import load_profile, orm
profile = load_profile(sys.argv[1])
material = orm.load_node(int(sys.argv[2]))
jobs = orm.QueryBuilder().append(orm.CalcJobNode).all(flat=True)  # the profile holds this material only
ladder = material.outputs.ladder
print(json.dumps({
    'ok': material.is_finished_ok, 'exit': [material.exit_status, material.exit_message],
    'profile_uuid': profile.uuid, 'storage': profile.storage_backend, 'broker': profile.process_control_backend,
    'summaries': {label: node.get_dict() for label, node in ladder.summaries.items()},
    'targets': material.outputs.targets.get_dict() if 'targets' in material.outputs else None,
    'jobs': [{
        'pk': job.pk, 'label': job.process_label, 'ok': job.is_finished_ok, 'exit_status': job.exit_status,
        'computer': job.computer.label, 'transport': job.computer.transport_type, 'scheduler': job.computer.scheduler_type,
        'job_id': job.get_job_id(), 'queue': (job.get_last_job_info().queue_name if job.get_last_job_info() else None),
        'remote': job.outputs.remote_folder.get_remote_path(),
        'retrieved': sorted(job.outputs.retrieved.base.repository.list_object_names()),
        'output_parameters': job.outputs.output_parameters.get_dict() if job.process_label == 'LammpsSegmentCalculation' else None,
    } for job in jobs],
}))
'''


@pytest.fixture
def terminal(tmp_path):
    """Run commands like a user would, in an AiiDA configuration folder of their own."""
    env = {key: value for key, value in os.environ.items() if not key.startswith('AIIDA_')}
    env.update(AIIDA_PATH=str(tmp_path / 'aiida'), PATH=f'{BIN}{os.pathsep}{os.environ["PATH"]}')

    def run(*command, check=True, timeout=180):
        import subprocess

        completed = subprocess.run([str(part) for part in command], env=env, capture_output=True, text=True,
                                   timeout=timeout, cwd=tmp_path)
        if check and completed.returncode:
            pytest.fail(f'{" ".join(map(str, command))} failed [{completed.returncode}]:\n'
                        f'{completed.stdout}\n{completed.stderr}')
        return completed.stdout

    run.env = env
    return run


def cluster_config(services, work_dir: pathlib.Path) -> dict:
    """The ``aiida-perovskite setup --config`` file of the test cluster: SSH to localhost, SLURM, this virtualenv's tools."""
    from aiida_perovskite.toolchain import executable
    from aiida_perovskite.tools.codes import PROGRAMS, TOOLS, local_prepend_text

    return {
        'computer': {
            'label': COMPUTER,
            'hostname': 'localhost',
            'transport': 'core.ssh',
            'scheduler': 'core.slurm',
            'work_dir': f'{work_dir}/{{username}}',
            # The mpich wheel's mpirun: its hydra launcher finds the SLURM allocation by itself.
            'mpirun_command': 'mpirun -np {tot_num_mpiprocs}',
            'mpiprocs_per_machine': int(services.slurm_node['CPUs']),
            'minimum_job_poll_interval': 1,
            'configure': {
                'username': 'root', 'port': services.ssh_port, 'key_filename': str(services.ssh_key),
                'look_for_keys': False, 'allow_agent': False, 'timeout': 30, 'safe_interval': 0.5,
                # The host key was made a minute ago; a real cluster's goes into ~/.ssh/known_hosts
                # (load_system_host_keys, the default RejectPolicy).
                'load_system_host_keys': False, 'key_policy': 'AutoAddPolicy',
            },
        },
        'codes': {tool: {'executable': str(executable(PROGRAMS.get(tool, tool))), 'prepend_text': local_prepend_text()}
                  for tool in TOOLS},
    }


def test_fast_ladder_through_ssh_and_slurm_with_postgres_and_rabbitmq(production_services, terminal, tmp_path):
    services = production_services
    started = time.monotonic()

    # The profile: PostgreSQL storage, RabbitMQ broker.
    services.psql('postgres', "CREATE ROLE aiida LOGIN PASSWORD 'aiida-test'")
    services.psql('postgres', f'CREATE DATABASE {DATABASE} OWNER aiida')
    terminal('verdi', 'profile', 'setup', 'core.psql_dos', '-n', '--profile-name', PROFILE, '--set-as-default',
             '--email', 'production@aiida-perovskite.test', '--first-name', 'Production', '--last-name', 'Test',
             '--institution', 'aiida-perovskite', '--database-hostname', '127.0.0.1',
             '--database-port', services.postgres_port, '--database-username', 'aiida', '--database-password', 'aiida-test',
             '--database-name', DATABASE, '--repository-uri', (tmp_path / 'repository').as_uri(), '--broker', 'none')
    terminal('verdi', 'profile', 'configure-broker', 'core.rabbitmq', '-n', '--broker-host', '127.0.0.1',
             '--broker-port', services.rabbitmq_port, '--broker-username', 'guest', '--broker-password', 'guest',
             '--broker-virtual-host', '', PROFILE)
    # RabbitMQ >= 3.8.15 is fine once consumer_timeout is off, which conftest checked on the server.
    terminal('verdi', '-p', PROFILE, 'config', 'set', 'warnings.rabbitmq_version', 'False')

    # The computer and codes, from the project's own set-up command.
    config = tmp_path / 'cluster.yaml'
    config.write_text(yaml.safe_dump(cluster_config(services, tmp_path / 'remote'), sort_keys=False))
    setup = terminal('aiida-perovskite', 'setup', '--profile', PROFILE, '--config', config)
    assert f'Using the existing profile {PROFILE}' in setup and f'codes on {COMPUTER}' in setup, setup
    tested = terminal('verdi', '-p', PROFILE, 'computer', 'test', COMPUTER, check=False)
    assert 'all 6 tests succeeded' in tested, tested + services.diagnostics()

    # The fast protocol on one material, submitted to the daemon.
    from aiida_perovskite.builder import alkylammonium, layered_perovskite

    cif = tmp_path / 'ba2pbi4.cif'
    layered_perovskite(alkylammonium(4), phase='RP').to(filename=str(cif))
    try:
        submitted = terminal('aiida-perovskite', 'run', cif, '--protocol', 'fast', '--group', 'production', '--daemon',
                             '--computer', COMPUTER, '--walltime', 600, '--profile', PROFILE)
        pk = int(re.search(r'submitted MaterialWorkChain<(\d+)>', submitted).group(1))
        queues = services.rabbitmqctl('list_queues', '--quiet', 'name')
        # Progress straight from PostgreSQL: no Python start-up per poll on a busy machine.
        state_query = f"SELECT attributes->>'process_state' FROM db_dbnode WHERE id = {pk}"
        deadline = time.monotonic() + 240
        while (state := services.psql(DATABASE, state_query)) not in ('finished', 'excepted', 'killed'):
            if time.monotonic() > deadline:
                log = terminal('verdi', '-p', PROFILE, 'process', 'list', '-a', check=False)
                pytest.fail(f'MaterialWorkChain<{pk}> still {state} after 240 s\n{log}\n{services.diagnostics()}')
            time.sleep(2)
        results = json.loads(terminal(sys.executable, '-c', RESULTS, PROFILE, pk).strip().splitlines()[-1])
    finally:
        terminal('verdi', '-p', PROFILE, 'daemon', 'stop', check=False)

    (tmp_path / 'results.json').write_text(json.dumps(results, indent=1))  # kept by pytest for a look after a failure
    if not results['ok']:
        report = terminal('verdi', '-p', PROFILE, 'process', 'report', pk, check=False)
        pytest.fail(f'MaterialWorkChain<{pk}> failed: {results["exit"]}\n{report}\n{services.diagnostics()}')

    # The profile really is PostgreSQL + RabbitMQ: the nodes are in the database, the daemon's task queue on the broker.
    assert (results['storage'], results['broker']) == ('core.psql_dos', 'core.rabbitmq')
    assert int(services.psql(DATABASE, 'SELECT count(*) FROM db_dbnode')) > 20
    assert f'aiida-{results["profile_uuid"]}.process.queue' in queues, queues

    # Every calculation ran as a SLURM job on the SSH computer and finished.
    jobs = results['jobs']
    labels = sorted({job['label'] for job in jobs})
    assert labels == ['AntechamberCalculation', 'LammpsSegmentCalculation', 'Parmchk2Calculation', 'TleapCalculation']
    segments = [job for job in jobs if job['label'] == 'LammpsSegmentCalculation']
    assert len(segments) == 4  # minimise, equilibrate, 250 K, 300 K
    completed = services.jobcomp_log.read_text()
    for job in jobs:
        assert job['ok'], job
        assert (job['computer'], job['transport'], job['scheduler']) == (COMPUTER, 'core.ssh', 'core.slurm'), job
        assert job['job_id'], job
        assert job['queue'] in (None, 'test'), job  # a job may finish between two squeue polls
        record = re.search(rf'^JobId={job["job_id"]} .*$', completed, re.MULTILINE)
        assert record, f'job {job["job_id"]} missing from the SLURM job-completion log:\n{completed}'
        for field in (f'Name=aiida-{job["pk"]}', 'JobState=COMPLETED', 'Partition=test', f'WorkDir={job["remote"]}'):
            assert f'{field} ' in record.group(), (field, record.group())
        assert job['remote'].startswith(str(tmp_path / 'remote' / 'root')), job
        assert '_scheduler-stdout.txt' in job['retrieved'], job
    parameters = [job['output_parameters'] for job in segments]
    assert all(p['completed'] and p['reached_target'] and p['error'] is None for p in parameters), parameters
    assert sorted(p['stage'] for p in parameters) == ['minimise', 'npt', 'npt', 'npt'], parameters
    # Equilibration to step 500, then 1,000 steps at each temperature: the step count runs on across segments.
    npt = sorted((p['end_step'], p['steps_run']) for p in parameters if p['stage'] == 'npt')
    assert npt == [(500, 500), (1500, 1000), (2500, 1000)], parameters

    # The parsed physics is that of a condensed phase at the set temperatures.
    assert sorted(results['summaries']) == ['T250', 'T300']
    for label, summary in results['summaries'].items():
        temperature = int(label[1:])
        assert summary['temperature'] == temperature
        assert abs(summary['temp_mean'] - temperature) < 0.25 * temperature, summary
        assert 10 < summary['volume_per_atom_mean'] < 30, summary
        assert summary['n_samples'] > 0
    assert results['targets'] is not None and results['targets']['cp_u'] is not None, results['targets']
    print(f'production test: {len(jobs)} SLURM jobs over SSH in {time.monotonic() - started:.0f} s')
