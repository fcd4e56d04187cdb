#!/usr/bin/env python3
"""General-purpose compressors on a benchmark corpus: the floor and the naive ceiling.
(scripts/peers/baselines.sh runs this.)

    baselines.py CORPUS_DIR WORK_DIR [--sample N] [--seed S]     (sample and seed are ignored)

Prints a JSON ARRAY:
  "xz -9"              `xz -9 -T1` of every version's text concatenated in manifest order (one
                       stream, duplicates included): the reference every ratio is taken against
  "zstd -19 --long=27" `zstd -19 --long=27 -T1` of the same stream
  "gzip -9 each"       `gzip -9 -n` of each version's text alone, sizes summed over the manifest
                       (`gzip -9 -n -c FILE...` in batches: one independent member per file, the
                       same bytes as one gzip run per text, without a process start per text)
storedBytes is the compressed size (counted from the compressor's stdout; nothing is written to
disk); importSeconds the compressor's wall time including feeding it (for gzip, all its runs);
peakRssBytes the compressor process's peak (/usr/bin/time; for gzip the largest batch). No extraction:
a stream has no random access (extracting one text means decompressing up to it).

On failure prints {"system": "baselines", "error": ...} and exits 1.
"""
import os
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _common  # noqa: E402

SYSTEM = 'baselines'
USAGE = 'baselines.py CORPUS_DIR WORK_DIR [--sample N] [--seed S]'


def first_line(args):
    run = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    return run.stdout.decode('utf-8', 'replace').strip().split('\n')[0]


def compress_stream(args, corpus, entries):
    """Feeds every text in manifest order to `args`' stdin; returns (compressed bytes, seconds, peak RSS)."""
    with tempfile.NamedTemporaryFile('r', suffix='.time', delete=False) as f:
        time_file = f.name
    try:
        started = time.perf_counter()
        process = subprocess.Popen(['/usr/bin/time', '-f', '%M', '-o', time_file] + args,
                                   stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        counted = [0]

        def count_output():
            while True:
                chunk = process.stdout.read(1 << 20)
                if not chunk:
                    break
                counted[0] += len(chunk)

        reader = threading.Thread(target=count_output)
        reader.start()
        try:
            for entry in entries:
                process.stdin.write(_common.read_blob(corpus, entry['sha256']))
            process.stdin.close()
        except BrokenPipeError:
            pass
        reader.join()
        returncode = process.wait()
        seconds = time.perf_counter() - started
        if returncode != 0:
            raise RuntimeError('%s exited %d' % (' '.join(args), returncode))
        with open(time_file) as f:
            peak = int(f.read().split()[-1]) * 1024
        return counted[0], seconds, peak
    finally:
        os.unlink(time_file)


def gzip_each(corpus, entries, batch_size=1000):
    """`gzip -9 -n -c FILE...` writes one independent gzip member per file, byte for byte what
    `gzip -9 -n < FILE` writes, so the sum of sizes is the length of its output, without paying a
    process start per text. Files are given once per version (duplicates included)."""
    paths = [_common.blob_path(corpus, e['sha256']) for e in entries]
    stored = 0
    seconds = 0.0
    peak = 0
    for start in range(0, len(paths), batch_size):
        returncode, stdout, _, run_seconds, run_peak = _common.timed_command(
            ['gzip', '-9', '-n', '-c'] + paths[start:start + batch_size], stdout=subprocess.PIPE)
        if returncode != 0:
            raise RuntimeError('gzip exited %d' % returncode)
        stored += len(stdout)
        seconds += run_seconds
        peak = max(peak, run_peak or 0)
    return stored, seconds, peak


def main(argv):
    corpus, work, _, _ = _common.parse_args(argv, USAGE)
    entries = _common.read_manifest(corpus)
    raw = sum(e['byteLength'] for e in entries)
    results = []

    stored, seconds, peak = compress_stream(['xz', '-9', '-T1', '-c'], corpus, entries)
    results.append({'system': 'xz -9', 'version': first_line(['xz', '--version']),
                    'notes': 'xz -9 -T1 of all texts concatenated in manifest order (one stream)',
                    'texts': len(entries), 'rawBytes': raw, 'storedBytes': stored,
                    'importSeconds': seconds, 'peakRssBytes': peak})

    stored, seconds, peak = compress_stream(['zstd', '-19', '--long=27', '-T1', '-q', '-c'], corpus, entries)
    results.append({'system': 'zstd -19 --long=27', 'version': first_line(['zstd', '--version']).strip('* ').replace(', by Yann Collet', ''),
                    'notes': 'zstd -19 --long=27 -T1 of all texts concatenated in manifest order (one stream)',
                    'texts': len(entries), 'rawBytes': raw, 'storedBytes': stored,
                    'importSeconds': seconds, 'peakRssBytes': peak})

    stored, seconds, peak = gzip_each(corpus, entries)
    results.append({'system': 'gzip -9 each', 'version': first_line(['gzip', '--version']),
                    'notes': 'gzip -9 -n of each text alone, summed over all %d versions' % len(entries),
                    'texts': len(entries), 'rawBytes': raw, 'storedBytes': stored,
                    'importSeconds': seconds, 'peakRssBytes': peak})
    for result in results:
        result['importMBps'] = raw / 1e6 / result['importSeconds'] if result['importSeconds'] > 0 else None
    return results


if __name__ == '__main__':
    _common.main_wrapper(SYSTEM, main)
