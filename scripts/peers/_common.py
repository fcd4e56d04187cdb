"""Shared by the peer measurement programs in scripts/peers/ (see README.md there).

Each program is run as `PROGRAM CORPUS_DIR WORK_DIR [--sample N] [--seed S]` and prints one JSON
object (or, for programs that measure several systems, one JSON array) on stdout. On failure it
prints `{"system": ..., "error": ...}` and exits 1.

The sample is drawn exactly as scripts/bench-vstore.ts draws it (mulberry32 from scripts/stats.ts,
`entries[floor(random() * n)]`, with replacement), so every system extracts the same keys, and the
percentiles are the same nearest-rank ones.
"""
import hashlib
import json
import os
import subprocess
import sys
import time
import traceback

DEFAULT_SAMPLE = 200
DEFAULT_SEED = 1


def reexec_under_system_python(module):
    """Debian's python3-breezy and mercurial live in /usr/bin/python3's dist-packages. The bench
    runs peers with whatever `python3` is first on PATH (pyenv here), so when `module` is not
    importable, run this program again under /usr/bin/python3."""
    try:
        __import__(module)
        return
    except ImportError:
        pass
    system_python = '/usr/bin/python3'
    if os.path.realpath(sys.executable) != os.path.realpath(system_python) and os.path.exists(system_python) \
            and not os.environ.get('VSTORE_PEER_REEXEC'):
        os.environ['VSTORE_PEER_REEXEC'] = '1'
        os.execv(system_python, [system_python] + sys.argv)


def parse_args(argv, usage):
    positionals = []
    options = {'sample': DEFAULT_SAMPLE, 'seed': DEFAULT_SEED}
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg in ('--sample', '--seed'):
            if i + 1 >= len(argv):
                raise UsageError(usage)
            options[arg[2:]] = _integer(arg, argv[i + 1], usage)
            i += 2
        elif arg.startswith('--sample=') or arg.startswith('--seed='):
            name, value = arg[2:].split('=', 1)
            options[name] = _integer('--' + name, value, usage)
            i += 1
        elif arg.startswith('--'):
            raise UsageError('unknown option %s; %s' % (arg, usage))
        else:
            positionals.append(arg)
            i += 1
    if len(positionals) != 2:
        raise UsageError(usage)
    if options['sample'] < 0:
        raise UsageError('--sample must be >= 0')
    corpus, work = (os.path.abspath(p) for p in positionals)
    if not os.path.exists(os.path.join(corpus, 'manifest.jsonl')):
        raise UsageError('%s has no manifest.jsonl' % corpus)
    return corpus, work, options['sample'], options['seed']


class UsageError(Exception):
    pass


def _integer(option, value, usage):
    try:
        return int(value)
    except ValueError:
        raise UsageError('%s wants an integer, got %r; %s' % (option, value, usage)) from None


def read_manifest(corpus):
    entries = []
    with open(os.path.join(corpus, 'manifest.jsonl'), encoding='utf-8') as f:
        for line in f:
            if line.strip():
                entries.append(json.loads(line))
    return entries


def blob_path(corpus, sha256):
    return os.path.join(corpus, 'blobs', sha256)


def read_blob(corpus, sha256):
    with open(blob_path(corpus, sha256), 'rb') as f:
        return f.read()


def check_text(entry, text):
    if len(text) != entry['byteLength'] or hashlib.sha256(text).hexdigest() != entry['sha256']:
        raise RuntimeError('wrong bytes for %s@%s: got %d bytes, sha256 %s' % (
            entry['file'], entry['rev'], len(text), hashlib.sha256(text).hexdigest()))


def mulberry32(seed):
    """scripts/stats.ts seededRandom, bit for bit (all its int32 arithmetic is mod 2**32)."""
    state = seed & 0xffffffff

    def imul(a, b):
        return (a * b) & 0xffffffff

    def random():
        nonlocal state
        state = (state + 0x6d2b79f5) & 0xffffffff
        t = state
        t = imul(t ^ (t >> 15), t | 1)
        t ^= (t + imul(t ^ (t >> 7), t | 61)) & 0xffffffff
        return ((t ^ (t >> 14)) & 0xffffffff) / 4294967296

    return random


def sample_entries(entries, sample_size, seed):
    """The same keys, in the same order, as scripts/bench-vstore.ts picks."""
    random = mulberry32(seed)
    count = min(len(entries), sample_size)
    return [entries[int(random() * len(entries))] for _ in range(count)]


def percentile(values, p):
    """scripts/stats.ts percentile: nearest rank."""
    if not values:
        return 0
    ordered = sorted(values)
    import math
    return ordered[min(len(ordered) - 1, max(0, math.ceil(p * len(ordered)) - 1))]


def summary_ms(times_ms):
    return {
        'sample': len(times_ms),
        'p50Ms': percentile(times_ms, 0.5),
        'p95Ms': percentile(times_ms, 0.95),
        'p99Ms': percentile(times_ms, 0.99),
        'maxMs': max(times_ms) if times_ms else 0,
    }


def summary_bytes(values):
    return {'p50': percentile(values, 0.5), 'max': max(values) if values else 0}


def tree_byte_length(root, keep=lambda relpath: True):
    """Bytes of the regular files under root whose path (relative to root) `keep` accepts."""
    total = 0
    for directory, _, files in os.walk(root):
        for name in files:
            path = os.path.join(directory, name)
            if os.path.isfile(path) and not os.path.islink(path) and keep(os.path.relpath(path, root)):
                total += os.path.getsize(path)
    return total


def run_child(args, stdin=None, env=None, cwd=None):
    """Runs a child process with stdout captured and stderr captured and passed through; returns
    (returncode, stdout bytes, wall seconds, peak RSS bytes, CPU seconds). Raises ChildFailed, with
    the child's last stderr line, when it exits non-zero. The peak comes from wait4's rusage of that
    one child (ru_maxrss, KiB on Linux, covers the child and any descendants it waited for)."""
    import threading
    started = time.perf_counter()
    process = subprocess.Popen(args, stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=cwd)
    stderr_chunks = []

    def pass_stderr():
        for line in process.stderr:
            stderr_chunks.append(line)
            sys.stderr.buffer.write(line)
            sys.stderr.buffer.flush()

    stderr_thread = threading.Thread(target=pass_stderr)
    stderr_thread.start()
    stdout = process.stdout.read()
    process.stdout.close()
    stderr_thread.join()
    process.stderr.close()
    _, status, rusage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        lines = [line.strip() for line in b''.join(stderr_chunks).decode('utf-8', 'replace').split('\n') if line.strip()]
        raise ChildFailed('%s exited %d: %s' % (os.path.basename(args[1] if len(args) > 1 else args[0]),
                                                process.returncode, lines[-1] if lines else 'no message'))
    return process.returncode, stdout, seconds, rusage.ru_maxrss * 1024, rusage.ru_utime + rusage.ru_stime


class ChildFailed(Exception):
    pass


def timed_command(args, stdin=None, stdout=None, stderr=None, input_bytes=None, env=None, cwd=None):
    """Runs `args` under /usr/bin/time to get that one command's peak RSS (its own and its waited
    children's, e.g. git repack → pack-objects). Returns (returncode, stdout, stderr, seconds,
    peakRssBytes)."""
    import tempfile
    with tempfile.NamedTemporaryFile('r', suffix='.time', delete=False) as f:
        time_file = f.name
    try:
        started = time.perf_counter()
        process = subprocess.run(['/usr/bin/time', '-f', '%M', '-o', time_file] + list(args),
                                 input=input_bytes, stdin=stdin, stdout=stdout, stderr=stderr, env=env, cwd=cwd)
        seconds = time.perf_counter() - started
        with open(time_file) as f:
            lines = [line for line in f.read().split('\n') if line.strip()]
        peak = int(lines[-1]) * 1024 if lines and lines[-1].strip().isdigit() else None
        return process.returncode, process.stdout, process.stderr, seconds, peak
    finally:
        os.unlink(time_file)


def emit(result):
    sys.stdout.write(json.dumps(result) + '\n')
    sys.stdout.flush()


def main_wrapper(system, main):
    """Runs main(argv); on any failure prints {"system", "error"} as JSON and exits 1."""
    try:
        result = main(sys.argv[1:])
        emit(result)
    except UsageError as e:
        emit({'system': system, 'error': 'usage: %s' % e})
        sys.exit(2)
    except BaseException as e:  # noqa: BLE001 - report anything, including KeyboardInterrupt
        traceback.print_exc(file=sys.stderr)
        emit({'system': system, 'error': '%s: %s' % (type(e).__name__, e)})
        sys.exit(1)
