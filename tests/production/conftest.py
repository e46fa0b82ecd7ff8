"""The services of a production set-up, each started by hand in a temporary folder on free ports.

PostgreSQL and RabbitMQ serve the AiiDA profile; sshd on localhost and a single-node SLURM
(slurmctld + slurmd, authenticated by munge) form the remote computer. Nothing touches the
system's own instances (their ports, sockets, ``/etc`` files and keys): another PostgreSQL or
SLURM on the machine keeps running undisturbed. The Debian packages come from
``make production-services`` (part of ``make test``); without them, or without root, the tests
skip and name what is missing.
"""

from __future__ import annotations

import contextlib
import dataclasses
import glob
import os
import pathlib
import shutil
import signal
import socket
import subprocess
import tempfile
import time

import pytest

INSTALL_HINT = 'run `make test` (or `make production-services`) as root'

#: program -> Debian package (the first existing path of each program is used).
PROGRAMS = {
    'initdb': ('postgresql', '/usr/lib/postgresql/*/bin/initdb'),
    'pg_ctl': ('postgresql', '/usr/lib/postgresql/*/bin/pg_ctl'),
    'psql': ('postgresql-client', '/usr/bin/psql'),
    'rabbitmq-server': ('rabbitmq-server', '/usr/lib/rabbitmq/bin/rabbitmq-server'),
    'rabbitmqctl': ('rabbitmq-server', '/usr/lib/rabbitmq/bin/rabbitmqctl'),
    'epmd': ('erlang-base', '/usr/bin/epmd'),
    'sshd': ('openssh-server', '/usr/sbin/sshd'),
    'ssh-keygen': ('openssh-client', '/usr/bin/ssh-keygen'),
    'munged': ('munge', '/usr/sbin/munged'),
    'mungekey': ('munge', '/usr/sbin/mungekey'),
    'slurmctld': ('slurmctld', '/usr/sbin/slurmctld'),
    'slurmd': ('slurmd', '/usr/sbin/slurmd'),
    'sinfo': ('slurm-client', '/usr/bin/sinfo'),
    'scontrol': ('slurm-client', '/usr/bin/scontrol'),
}


def find_programs() -> tuple[dict[str, str], list[str]]:
    """The path of each of :data:`PROGRAMS`, and ``program (package)`` for each one missing."""
    found, missing = {}, []
    for name, (package, pattern) in PROGRAMS.items():
        paths = sorted(glob.glob(pattern))
        if paths:
            found[name] = paths[-1]
        else:
            missing.append(f'{name} ({package})')
    return found, missing


def free_ports(count: int) -> list[int]:
    """``count`` distinct TCP ports free on 127.0.0.1 now."""
    with contextlib.ExitStack() as stack:
        sockets = [stack.enter_context(socket.socket()) for _ in range(count)]
        for sock in sockets:
            sock.bind(('127.0.0.1', 0))
        return [sock.getsockname()[1] for sock in sockets]


def tail(path: pathlib.Path, lines: int = 30) -> str:
    try:
        return f'--- {path}:\n' + '\n'.join(path.read_text(errors='replace').splitlines()[-lines:])
    except OSError:
        return f'--- {path}: absent'


def wait_for(condition, timeout: float, what: str, logs=()):
    """Poll ``condition()`` until it returns something true, or fail with the logs' tails."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        result = condition()
        if result:
            return result
        time.sleep(0.5)
    pytest.fail(f'{what} not ready after {timeout} s\n' + '\n'.join(tail(pathlib.Path(log)) for log in logs))


@dataclasses.dataclass
class Services:
    """Where the running services are."""

    root: pathlib.Path
    programs: dict
    postgres_port: int = 0
    rabbitmq_port: int = 0
    ssh_port: int = 0
    ssh_key: pathlib.Path | None = None
    slurm_conf: pathlib.Path | None = None
    slurm_node: dict = dataclasses.field(default_factory=dict)
    jobcomp_log: pathlib.Path | None = None
    rabbitmq_env: dict = dataclasses.field(default_factory=dict)
    logs: list = dataclasses.field(default_factory=list)

    def slurm_env(self) -> dict:
        return {**os.environ, 'SLURM_CONF': str(self.slurm_conf)}

    def rabbitmqctl(self, *arguments) -> str:
        completed = subprocess.run([self.programs['rabbitmqctl'], *arguments], env=self.rabbitmq_env,
                                   capture_output=True, text=True, timeout=60)
        return completed.stdout

    def psql(self, database: str, command: str) -> str:
        completed = subprocess.run([self.programs['psql'], '-h', '127.0.0.1', '-p', str(self.postgres_port), '-U', 'postgres',
                                    '-d', database, '-v', 'ON_ERROR_STOP=1', '-A', '-t', '-c', command],
                                   capture_output=True, text=True)
        if completed.returncode:
            pytest.fail(f'psql {command!r}: {completed.stderr}')
        return completed.stdout.strip()

    def diagnostics(self) -> str:
        return '\n'.join(tail(log) for log in self.logs)


class _Stopper:
    """Teardown actions, run in reverse order, each one whatever the others do."""

    def __init__(self):
        self.actions = []

    def add(self, action):
        self.actions.append(action)

    def stop(self, process: subprocess.Popen, timeout: float = 15):
        """Terminate a daemon started in the foreground by this module (its own session), then kill it."""

        def action():
            if process.poll() is not None:
                return
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(5)

        self.add(action)

    def run(self):
        for action in reversed(self.actions):
            try:
                action()
            except Exception as error:  # noqa: BLE001 - the other services must still stop
                print(f'teardown: {error}')


def _daemon(command, log: pathlib.Path, stopper: _Stopper, **kwargs) -> subprocess.Popen:
    handle = log.open('ab')
    process = subprocess.Popen(command, stdout=handle, stderr=subprocess.STDOUT, start_new_session=True, **kwargs)
    handle.close()
    stopper.stop(process)
    return process


def start_postgres(services: Services, stopper: _Stopper) -> None:
    """``initdb`` + ``pg_ctl start`` as the ``postgres`` user, trust authentication on 127.0.0.1 only."""
    folder = services.root / 'postgres'
    folder.mkdir(mode=0o700)
    shutil.chown(folder, 'postgres', 'postgres')
    data, log = folder / 'data', folder / 'postgres.log'
    services.logs.append(log)
    subprocess.run([services.programs['initdb'], '-D', str(data), '-A', 'trust', '-U', 'postgres', '--no-sync',
                    '-E', 'UTF8', '--locale', 'C'], user='postgres', check=True, capture_output=True)
    (services.postgres_port,) = free_ports(1)
    options = f'-p {services.postgres_port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off'
    pg_ctl = [services.programs['pg_ctl'], '-D', str(data)]
    subprocess.run(pg_ctl + ['-l', str(log), '-w', '-t', '60', '-o', options, 'start'], user='postgres', check=True,
                   capture_output=True)
    stopper.add(lambda: subprocess.run(pg_ctl + ['-m', 'immediate', '-w', 'stop'], user='postgres', capture_output=True))


def start_rabbitmq(services: Services, stopper: _Stopper) -> None:
    """A RabbitMQ node of its own (name, ports, epmd, cookie, data) with ``consumer_timeout`` off.

    RabbitMQ 3.8.15 and later cancel a consumer that holds a task longer than ``consumer_timeout``
    (30 min by default), which kills long AiiDA processes; aiida-core warns about any such version
    unless told (``warnings.rabbitmq_version``) that the server is configured without it.
    """
    folder = services.root / 'rabbitmq'
    folder.mkdir()
    amqp, dist, epmd = free_ports(3)
    services.rabbitmq_port = amqp
    (folder / 'rabbitmq.conf').write_text(f'listeners.tcp.default = 127.0.0.1:{amqp}\n')
    (folder / 'advanced.config').write_text('[{rabbit, [{consumer_timeout, undefined}]}].\n')
    (folder / 'enabled_plugins').write_text('[].\n')
    (folder / 'rabbitmq-env.conf').write_text('')
    node = f'aiida-perovskite-{amqp}@localhost'
    env = {
        **os.environ,
        'HOME': str(folder),  # the Erlang cookie
        'RABBITMQ_CONF_ENV_FILE': str(folder / 'rabbitmq-env.conf'),
        'RABBITMQ_CONFIG_FILE': str(folder / 'rabbitmq.conf'),
        'RABBITMQ_ADVANCED_CONFIG_FILE': str(folder / 'advanced.config'),
        'RABBITMQ_ENABLED_PLUGINS_FILE': str(folder / 'enabled_plugins'),
        'RABBITMQ_NODENAME': node,
        'RABBITMQ_NODE_IP_ADDRESS': '127.0.0.1',
        'RABBITMQ_NODE_PORT': str(amqp),
        'RABBITMQ_DIST_PORT': str(dist),
        'ERL_EPMD_PORT': str(epmd),
        'RABBITMQ_MNESIA_BASE': str(folder / 'mnesia'),
        'RABBITMQ_LOG_BASE': str(folder / 'log'),
        'RABBITMQ_PID_FILE': str(folder / 'rabbitmq.pid'),
        'RABBITMQ_PLUGINS_EXPAND_DIR': str(folder / 'plugins'),
    }
    services.rabbitmq_env = env
    log = folder / 'rabbitmq-server.out'
    services.logs.append(log)
    process = _daemon([services.programs['rabbitmq-server']], log, stopper, env=env)
    ctl = services.programs['rabbitmqctl']
    # rabbitmq-server starts epmd as a daemon of its own: stop it after the node.
    stopper.add(lambda: subprocess.run([services.programs['epmd'], '-kill'], env=env, capture_output=True))
    stopper.add(lambda: process.poll() is None and subprocess.run([ctl, 'stop', str(folder / 'rabbitmq.pid')], env=env, capture_output=True, timeout=60))
    waited = subprocess.run([ctl, 'wait', '--timeout', '90', str(folder / 'rabbitmq.pid')], env=env,
                            capture_output=True, text=True)
    if waited.returncode:
        pytest.fail(f'RabbitMQ did not start: {waited.stdout}{waited.stderr}\n{tail(log)}')
    timeout = subprocess.run([ctl, 'eval', 'application:get_env(rabbit, consumer_timeout).'], env=env,
                             capture_output=True, text=True).stdout.strip()
    assert timeout == '{ok,undefined}', f'consumer_timeout is still set: {timeout}'


def start_sshd(services: Services, stopper: _Stopper) -> None:
    """sshd on a free localhost port: a throwaway host key, root logs in with a throwaway key only.

    ``SetEnv`` gives every session (AiiDA's ``sbatch``/``squeue`` calls and the jobs they
    submit) the test cluster's ``SLURM_CONF``.
    """
    folder = services.root / 'ssh'
    folder.mkdir()
    keygen = services.programs['ssh-keygen']
    for name in ('host_key', 'root_key'):
        subprocess.run([keygen, '-q', '-t', 'ed25519', '-N', '', '-f', str(folder / name)], check=True)
    shutil.copy(folder / 'root_key.pub', folder / 'authorized_keys')
    (services.ssh_port,) = free_ports(1)
    config = folder / 'sshd_config'
    config.write_text('\n'.join([
        f'Port {services.ssh_port}',
        'ListenAddress 127.0.0.1',
        f'HostKey {folder / "host_key"}',
        f'PidFile {folder / "sshd.pid"}',
        f'AuthorizedKeysFile {folder / "authorized_keys"}',
        'PermitRootLogin prohibit-password',
        'PasswordAuthentication no',
        'KbdInteractiveAuthentication no',
        'UsePAM no',
        'StrictModes no',  # the keys live under /tmp
        f'SetEnv SLURM_CONF={services.slurm_conf}',
        'Subsystem sftp internal-sftp',
        '',
    ]))
    pathlib.Path('/run/sshd').mkdir(mode=0o755, exist_ok=True)  # sshd's privilege-separation folder
    checked = subprocess.run([services.programs['sshd'], '-t', '-f', str(config)], capture_output=True, text=True)
    if checked.returncode:
        pytest.fail(f'sshd rejects its configuration: {checked.stderr}')
    log = folder / 'sshd.log'
    services.logs.append(log)
    _daemon([services.programs['sshd'], '-D', '-e', '-f', str(config)], log, stopper)
    services.ssh_key = folder / 'root_key'

    def listening():
        with socket.socket() as sock:
            return sock.connect_ex(('127.0.0.1', services.ssh_port)) == 0

    wait_for(listening, 30, 'sshd', [log])


def start_munge(services: Services, stopper: _Stopper) -> pathlib.Path:
    """munged with a fresh key and its own socket; returns the socket."""
    folder = services.root / 'munge'
    folder.mkdir(mode=0o755)  # munged wants its socket folder open to all (execute)
    key = folder / 'munge.key'
    subprocess.run([services.programs['mungekey'], '--create', f'--keyfile={key}'], check=True, capture_output=True)
    key.chmod(0o400)
    socket_path = folder / 'munge.socket'
    log = folder / 'munged.log'
    services.logs.append(log)
    _daemon([services.programs['munged'], '--foreground', '--force', f'--key-file={key}', f'--socket={socket_path}',
             f'--pid-file={folder / "munged.pid"}', f'--log-file={log}', f'--seed-file={folder / "munged.seed"}'],
            folder / 'munged.out', stopper)
    wait_for(socket_path.exists, 30, 'munged', [log, folder / 'munged.out'])
    return socket_path


def node_hardware(slurmd: str) -> dict:
    """The node line ``slurmd -C`` reports for this machine (name, CPUs, sockets, memory)."""
    output = subprocess.run([slurmd, '-C'], capture_output=True, text=True, check=True).stdout
    line = next(line for line in output.splitlines() if line.startswith('NodeName='))
    return dict(item.split('=', 1) for item in line.split())


def start_slurm(services: Services, stopper: _Stopper, munge_socket: pathlib.Path) -> None:
    """slurmctld + slurmd, one node with this machine's real CPUs and memory, no cgroups, no accounting.

    Finished jobs are written to a job-completion file (``jobcomp/filetxt``): the test's record
    that a job really went through SLURM (``sacct`` needs slurmdbd, which this set-up leaves out).
    """
    folder = services.root / 'slurm'
    folder.mkdir(mode=0o755)
    for name in ('state', 'spool'):
        (folder / name).mkdir()
    ctld_port, slurmd_port = free_ports(2)
    node = node_hardware(services.programs['slurmd'])
    services.slurm_node = node
    services.jobcomp_log = folder / 'jobcomp.log'
    node_line = ' '.join(f'{key}={value}' for key, value in node.items())
    services.slurm_conf = folder / 'slurm.conf'
    services.slurm_conf.write_text('\n'.join([
        'ClusterName=aiidaperovskite',
        f'SlurmctldHost={node["NodeName"]}(127.0.0.1)',
        f'SlurmctldPort={ctld_port}',
        f'SlurmdPort={slurmd_port}',
        'SlurmUser=root',
        'SlurmdUser=root',
        'AuthType=auth/munge',
        'CredType=cred/munge',
        f'AuthInfo=socket={munge_socket}',
        f'StateSaveLocation={folder / "state"}',
        f'SlurmdSpoolDir={folder / "spool"}',
        f'SlurmctldPidFile={folder / "slurmctld.pid"}',
        f'SlurmdPidFile={folder / "slurmd.pid"}',
        f'SlurmctldLogFile={folder / "slurmctld.log"}',
        f'SlurmdLogFile={folder / "slurmd.log"}',
        'ProctrackType=proctrack/linuxproc',
        'TaskPlugin=task/none',
        'SelectType=select/cons_tres',
        'SelectTypeParameters=CR_Core',
        'JobAcctGatherType=jobacct_gather/none',
        'AccountingStorageType=accounting_storage/none',
        'JobCompType=jobcomp/filetxt',
        f'JobCompLoc={services.jobcomp_log}',
        'MpiDefault=none',
        'SwitchType=switch/none',
        'ReturnToService=2',
        'MailProg=/bin/true',
        f'{node_line} NodeAddr=127.0.0.1 State=UNKNOWN',
        f'PartitionName=test Nodes={node["NodeName"]} Default=YES MaxTime=INFINITE State=UP',
        '',
    ]))
    env = services.slurm_env()
    services.logs += [folder / 'slurmctld.log', folder / 'slurmd.log']
    _daemon([services.programs['slurmctld'], '-D', '-i'], folder / 'slurmctld.out', stopper, env=env)
    _daemon([services.programs['slurmd'], '-D', '-N', node['NodeName']], folder / 'slurmd.out', stopper, env=env)

    def idle():
        states = subprocess.run([services.programs['sinfo'], '-h', '-o', '%T'], env=env, capture_output=True, text=True)
        return states.stdout.strip() == 'idle'

    wait_for(idle, 60, 'the SLURM node', [folder / 'slurmctld.log', folder / 'slurmd.log', folder / 'slurmctld.out'])


@pytest.fixture(scope='module')
def production_services():
    """PostgreSQL, RabbitMQ, munge, SLURM and sshd, running until the module's tests are done."""
    if os.geteuid() != 0:
        pytest.skip('the production test needs root (initdb as postgres, sshd, slurmd): ' + INSTALL_HINT)
    programs, missing = find_programs()
    if missing:
        pytest.skip(f'not installed: {", ".join(missing)}: {INSTALL_HINT}')
    try:
        import pwd

        pwd.getpwnam('postgres')
    except KeyError:
        pytest.skip(f'no postgres user (the postgresql package creates it): {INSTALL_HINT}')

    # Under /tmp, not pytest's tmp_path: postgres and munged need every folder above theirs open to them.
    root = pathlib.Path(tempfile.mkdtemp(prefix='aiida-perovskite-production-'))
    root.chmod(0o755)
    services = Services(root=root, programs=programs)
    stopper = _Stopper()
    stopper.add(lambda: shutil.rmtree(root, ignore_errors=True))
    try:
        start_postgres(services, stopper)
        start_rabbitmq(services, stopper)
        munge_socket = start_munge(services, stopper)
        start_slurm(services, stopper, munge_socket)
        start_sshd(services, stopper)
        yield services
    finally:
        stopper.run()
