#!/usr/bin/env python3
"""git's packfiles on a benchmark corpus, two ways. (scripts/peers/git-fast-import.sh runs this.)

    git-fast-import.py CORPUS_DIR WORK_DIR [--sample N] [--seed S]

Prints a JSON ARRAY of two results (bench.ts accepts an array):
  "git"               `git repack -a -d -f` (defaults: --window=10 --depth=50)
  "git --window=250"  `git repack -a -d -f --window=250 --depth=50`
both repacking, with deltas recomputed from scratch (-f), what `git fast-import` wrote.

Import: `git init --bare` in WORK_DIR/git.git, then one `git fast-import` fed from this program:
each distinct text once as a blob, and for each run of consecutive manifest entries with the same
rev one commit on refs/heads/main (linear, each after the last) whose tree (`deleteall`, then one
`M` per entry) holds just the files that rev changed, at their paths, so every blob is reachable.
importSeconds = fast-import + that variant's repack; peakRssBytes = the larger of the two
processes' peaks (/usr/bin/time); the feeding Python is not counted. Bitmaps are not written
(repack.writeBitmaps=false: a bare repository would write one by default, and it serves fetches,
not reads). pack.threads is git's default (one per CPU).

storedBytes: objects/pack/*.pack + *.idx after the repack (no loose objects remain). That includes
the commits and trees this import invents; `metadataBytes` is their share of the .pack
(size-in-pack of commit and tree objects, from `git verify-pack -v`) and `blobPackBytes` the
texts' share (blobs only: what a texts-only comparison with the other systems would count). A .rev or .bitmap, if any, is
not counted.

Extraction, in this process: one long-running `git cat-file --batch`, one request per sampled key
(the blob id, computed from the corpus text), timed from writing the id to having read the whole
text, checked against the corpus sha256. git's delta base cache is off
(core.deltaBaseCacheLimit=0), so each text is rebuilt from its chain's base as if cold, like the
other systems; the pack stays mmapped, as in any long-running git process.

On failure prints {"system": "git", "error": ...} and exits 1.
"""
import hashlib
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _common  # noqa: E402

SYSTEM = 'git'
USAGE = 'git-fast-import.py CORPUS_DIR WORK_DIR [--sample N] [--seed S]'
GIT_CONFIG = ['-c', 'gc.auto=0', '-c', 'repack.writeBitmaps=false', '-c', 'pack.writeBitmapHashCache=false',
              '-c', 'core.bigFileThreshold=2g']


def git(repo, *args, **kwargs):
    return subprocess.run(['git', '--git-dir', repo] + GIT_CONFIG + list(args), check=True,
                          stdout=subprocess.PIPE, **kwargs).stdout


def quote_path(path):
    """A fast-import path: as is, unless it needs git's C-style quoting."""
    data = path.encode('utf-8')
    if not any(byte < 0x20 or byte in (0x22, 0x5c, 0x7f) for byte in data):
        return data
    escapes = {0x22: b'\\"', 0x5c: b'\\\\', 0x0a: b'\\n', 0x09: b'\\t', 0x0d: b'\\r'}
    out = []
    for byte in data:
        if byte in escapes:
            out.append(escapes[byte])
        elif byte < 0x20 or byte == 0x7f:
            out.append(b'\\%03o' % byte)
        else:
            out.append(bytes((byte,)))
    return b'"' + b''.join(out) + b'"'


def fast_import_stream(corpus, entries, write):
    """Writes the fast-import stream; returns (blob count, commit count)."""
    marks = {}  # sha256 → mark
    next_mark = 1
    commits = 0
    i = 0
    while i < len(entries):
        j = i
        while j < len(entries) and entries[j]['rev'] == entries[i]['rev']:
            j += 1
        run = entries[i:j]
        for entry in run:
            if entry['sha256'] not in marks:
                text = _common.read_blob(corpus, entry['sha256'])
                write(b'blob\nmark :%d\ndata %d\n' % (next_mark, len(text)))
                write(text)
                write(b'\n')
                marks[entry['sha256']] = next_mark
                next_mark += 1
        message = entries[i]['rev'].encode('utf-8')
        write(b'commit refs/heads/main\ncommitter vstore bench <bench@invalid> 0 +0000\n')
        write(b'data %d\n%s\n' % (len(message), message))
        write(b'deleteall\n')
        for entry in run:
            write(b'M 100644 :%d %s\n' % (marks[entry['sha256']], quote_path(entry['file'])))
        write(b'\n')
        commits += 1
        i = j
    write(b'done\n')
    return len(marks), commits


def run_fast_import(repo, corpus, entries):
    import tempfile
    with tempfile.NamedTemporaryFile('r', suffix='.time', delete=False) as f:
        time_file = f.name
    try:
        started = time.perf_counter()
        process = subprocess.Popen(['/usr/bin/time', '-f', '%M', '-o', time_file, 'git', '--git-dir', repo] + GIT_CONFIG
                                   + ['fast-import', '--quiet', '--done'], stdin=subprocess.PIPE)
        try:
            blobs, commits = fast_import_stream(corpus, entries, process.stdin.write)
            process.stdin.close()
        except BrokenPipeError:
            pass
        returncode = process.wait()
        seconds = time.perf_counter() - started
        if returncode != 0:
            raise RuntimeError('git fast-import exited %d' % returncode)
        with open(time_file) as f:
            peak = int(f.read().split()[-1]) * 1024
        return seconds, peak, blobs, commits
    finally:
        os.unlink(time_file)


def repack(repo, extra_args):
    returncode, _, _, seconds, peak = _common.timed_command(
        ['git', '--git-dir', repo] + GIT_CONFIG + ['repack', '-a', '-d', '-f', '-q'] + extra_args)
    if returncode != 0:
        raise RuntimeError('git repack exited %d' % returncode)
    return seconds, peak


def pack_sizes(repo):
    pack_dir = os.path.join(repo, 'objects', 'pack')
    names = os.listdir(pack_dir)
    packs = [n for n in names if n.endswith('.pack')]
    if len(packs) != 1:
        raise RuntimeError('expected one pack after repack -a -d, found %d' % len(packs))
    pack = os.path.join(pack_dir, packs[0])
    idx = pack[:-len('.pack')] + '.idx'
    loose = _common.tree_byte_length(os.path.join(repo, 'objects'), lambda p: not p.startswith('pack' + os.sep)
                                     and not p.startswith('info' + os.sep))
    # verify-pack -v: "<oid> <type> <size> <size-in-pack> <offset> [<depth> <base>]"
    listing = git(repo, 'verify-pack', '-v', idx).decode('utf-8', 'replace')
    metadata = 0
    blob_bytes = 0
    blob_count = 0
    chain_lengths = []
    for line in listing.split('\n'):
        fields = line.split()
        if len(fields) >= 5 and fields[1] in ('commit', 'tree', 'blob', 'tag'):
            if fields[1] in ('commit', 'tree'):
                metadata += int(fields[3])
            else:
                blob_bytes += int(fields[3])
                blob_count += 1
                if len(fields) >= 7:
                    chain_lengths.append(int(fields[5]))
    return {
        'packBytes': os.path.getsize(pack),
        'idxBytes': os.path.getsize(idx),
        'storedBytes': os.path.getsize(pack) + os.path.getsize(idx),
        'metadataBytes': metadata,
        'blobPackBytes': blob_bytes,
        'blobCount': blob_count,
        'looseBytes': loose,
        'maxChainLength': max(chain_lengths) if chain_lengths else 0,
    }


def blob_id(text):
    return hashlib.sha1(b'blob %d\0' % len(text) + text).hexdigest().encode('ascii')


def extract_sample(repo, corpus, sample):
    process = subprocess.Popen(['git', '--git-dir', repo, '-c', 'core.deltaBaseCacheLimit=0', 'cat-file', '--batch'],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    ids = [blob_id(_common.read_blob(corpus, entry['sha256'])) for entry in sample]
    times_ms = []
    try:
        # Untimed: the first request opens the .idx and mmaps the .pack (as any git command does
        # before its first read); the other systems open their repository before timing too.
        process.stdin.write(b'refs/heads/main\n')
        process.stdin.flush()
        header = process.stdout.readline().split()
        if len(header) != 3:
            raise RuntimeError('cat-file answered %r for refs/heads/main' % b' '.join(header))
        process.stdout.read(int(header[2]) + 1)
        for entry, oid in zip(sample, ids):
            started = time.perf_counter()
            process.stdin.write(oid + b'\n')
            process.stdin.flush()
            header = process.stdout.readline().split()
            if len(header) != 3 or header[1] != b'blob':
                raise RuntimeError('cat-file answered %r for %s@%s' % (b' '.join(header), entry['file'], entry['rev']))
            byte_length = int(header[2])
            text = process.stdout.read(byte_length)
            process.stdout.read(1)  # the LF after the content
            times_ms.append((time.perf_counter() - started) * 1000)
            _common.check_text(entry, text)
    finally:
        process.stdin.close()
        process.stdout.close()
        process.wait()
    return times_ms


def main(argv):
    import shutil
    corpus, work, sample_size, seed = _common.parse_args(argv, USAGE)
    os.makedirs(work, exist_ok=True)
    repo = os.path.join(work, 'git.git')
    shutil.rmtree(repo, ignore_errors=True)
    version = subprocess.run(['git', '--version'], check=True, stdout=subprocess.PIPE).stdout.decode().strip()
    entries = _common.read_manifest(corpus)
    raw = sum(e['byteLength'] for e in entries)
    sample = _common.sample_entries(entries, sample_size, seed)

    subprocess.run(['git', 'init', '--quiet', '--bare', '--initial-branch=main', repo], check=True)
    import_seconds, import_peak, blobs, commits = run_fast_import(repo, corpus, entries)
    fast_import_bytes = _common.tree_byte_length(os.path.join(repo, 'objects'))

    results = []
    for system, extra_args in (('git', []), ('git --window=250', ['--window=250', '--depth=50'])):
        repack_seconds, repack_peak = repack(repo, extra_args)
        sizes = pack_sizes(repo)
        if sizes['blobCount'] != blobs:
            raise RuntimeError('the pack holds %d blobs, expected %d' % (sizes['blobCount'], blobs))
        times_ms = extract_sample(repo, corpus, sample)
        results.append({
            'system': system,
            'version': version,
            'notes': 'git fast-import then git repack -a -d -f%s; storedBytes = .pack + .idx, including %d commits '
                     'and their trees (%d bytes of the pack); extraction via one cat-file --batch, delta base '
                     'cache off' % ((' ' + ' '.join(extra_args)) if extra_args else '', commits, sizes['metadataBytes']),
            'texts': len(entries),
            'rawBytes': raw,
            'blobs': blobs,
            'commits': commits,
            'storedBytes': sizes['storedBytes'],
            'packBytes': sizes['packBytes'],
            'idxBytes': sizes['idxBytes'],
            'metadataBytes': sizes['metadataBytes'],
            'blobPackBytes': sizes['blobPackBytes'],
            'maxChainLength': sizes['maxChainLength'],
            'fastImportBytes': fast_import_bytes,
            'importSeconds': import_seconds + repack_seconds,
            'fastImportSeconds': import_seconds,
            'repackSeconds': repack_seconds,
            'importMBps': raw / 1e6 / (import_seconds + repack_seconds),
            'peakRssBytes': max(import_peak, repack_peak),
            'extract': _common.summary_ms(times_ms),
        })
        if sizes['looseBytes']:
            results[-1]['notes'] += '; %d bytes of loose objects left (not counted)' % sizes['looseBytes']
    return results


if __name__ == '__main__':
    _common.main_wrapper(SYSTEM, main)
