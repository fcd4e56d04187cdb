#!/usr/bin/python3
"""Mercurial revlogs (one filelog per file) on a benchmark corpus.

    mercurial-revlog.py CORPUS_DIR WORK_DIR [--sample N] [--seed S]

Import (in a child process, for its peak RSS): `hg init` defaults (no hgrc read: HGRCPATH is empty,
so the store format is what a new user gets from this Mercurial: generaldelta, sparse-revlog,
zstd when built in), then in one lock and one transaction each text is added to the filelog of its
file with `filelog.add(text, {}, tr, linkrev, p1, p2)` in manifest order, p1/p2 being the nodes
of the version's first two parents. A revlog holds at most two parents: a version with more keeps
the first two (`parentsDropped` counts the parents left out). No changesets or manifests are
written; linkrev is the entry's manifest index.

storedBytes: every file under .hg/store/data/ (the filelogs' .i, and .d once a revlog passes
Mercurial's inline limit of 128 KiB). Not counted: the fncache (a list of the filelogs' names,
which a `hg verify` or clone needs but reading a text does not), the empty changelog/manifest, and
requires files.

Extraction, in this process: for each sampled key, timed: open the file's filelog afresh
(`repo.file(path)`, which reads its index: nothing is cached between keys) and `filelog.read(node)`;
the text is checked against the corpus sha256.

Prints one JSON object; on failure {"system", "error"} and exit 1.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _common  # noqa: E402

SYSTEM = 'mercurial revlog'
USAGE = 'mercurial-revlog.py CORPUS_DIR WORK_DIR [--sample N] [--seed S]'

os.environ['HGRCPATH'] = ''
os.environ.setdefault('HGPLAIN', '1')
_common.reexec_under_system_python('mercurial')


def open_repo(path, create=False):
    from mercurial import hg
    from mercurial import ui as uimod
    ui = uimod.ui.load()
    ui.setconfig(b'ui', b'quiet', b'true')
    return hg.repository(ui, path.encode('utf-8'), create=create)


def store_byte_length(repo_dir):
    return _common.tree_byte_length(os.path.join(repo_dir, '.hg', 'store', 'data'))


# ---- import, in a child process -------------------------------------------------------------

def import_child(corpus, repo_dir, nodes_path):
    import json
    import time
    from mercurial.node import hex as hexnode, nullid

    entries = _common.read_manifest(corpus)
    started = time.perf_counter()
    repo = open_repo(repo_dir, create=True)
    nodes = {}  # (file, rev) → node
    filelogs = {}
    parents_dropped = 0
    versions_with_dropped_parents = 0
    with repo.lock(), repo.transaction(b'vstore-bench-import') as tr:
        for linkrev, entry in enumerate(entries):
            file = entry['file']
            filelog = filelogs.get(file)
            if filelog is None:
                filelog = filelogs[file] = repo.file(file.encode('utf-8'))
            parent_nodes = [nodes[(file, parent)] for parent in entry['parents']]
            if len(parent_nodes) > 2:
                parents_dropped += len(parent_nodes) - 2
                versions_with_dropped_parents += 1
            p1 = parent_nodes[0] if len(parent_nodes) > 0 else nullid
            p2 = parent_nodes[1] if len(parent_nodes) > 1 else nullid
            if p2 == p1:
                p2 = nullid
            text = _common.read_blob(corpus, entry['sha256'])
            # meta {}: none of our own, but add() still escapes a text that starts with b'\1\n'.
            nodes[(file, entry['rev'])] = filelog.add(text, {}, tr, linkrev, p1, p2)
    imported = time.perf_counter()
    with open(nodes_path, 'w', encoding='utf-8') as f:
        for (file, rev), node in nodes.items():
            f.write(json.dumps([file, rev, hexnode(node).decode('ascii')]) + '\n')
    print(json.dumps({
        'importSeconds': imported - started,
        'filelogs': len(filelogs),
        'parentsDropped': parents_dropped,
        'versionsWithDroppedParents': versions_with_dropped_parents,
        'requirements': sorted(r.decode('utf-8') for r in repo.requirements),
    }))


# ---- measurement -----------------------------------------------------------------------------

def main(argv):
    import json
    import shutil
    import time
    from mercurial import util
    from mercurial.node import bin as binnode

    corpus, work, sample_size, seed = _common.parse_args(argv, USAGE)
    os.makedirs(work, exist_ok=True)
    repo_dir = os.path.join(work, 'mercurial')
    nodes_path = os.path.join(work, 'mercurial-nodes.jsonl')
    shutil.rmtree(repo_dir, ignore_errors=True)

    _, stdout, wall_seconds, peak_rss, cpu_seconds = _common.run_child(
        [sys.executable, os.path.abspath(__file__), '--import-child', corpus, repo_dir, nodes_path])
    info = json.loads(stdout.decode('utf-8').strip().splitlines()[-1])
    stored = store_byte_length(repo_dir)
    data_dir = os.path.join(repo_dir, '.hg', 'store', 'data')
    d_bytes = _common.tree_byte_length(data_dir, lambda p: p.endswith('.d'))
    fncache = os.path.join(repo_dir, '.hg', 'store', 'fncache')

    nodes = {}
    with open(nodes_path, encoding='utf-8') as f:
        for line in f:
            file, rev, node = json.loads(line)
            nodes[(file, rev)] = binnode(node.encode('ascii'))

    entries = _common.read_manifest(corpus)
    sample = _common.sample_entries(entries, sample_size, seed)
    repo = open_repo(repo_dir)
    times_ms = []
    for entry in sample:
        node = nodes[(entry['file'], entry['rev'])]
        started = time.perf_counter()
        text = repo.file(entry['file'].encode('utf-8')).read(node)
        times_ms.append((time.perf_counter() - started) * 1000)
        _common.check_text(entry, text)

    compression = [r for r in info['requirements'] if 'compression' in r]
    notes = ['storedBytes = .hg/store/data/ (.i + .d); fncache not counted',
             'requirements: %s' % ', '.join(info['requirements']),
             'compression: %s' % (', '.join(compression) if compression else 'zlib (default engine)'),
             'extraction: fresh filelog per key + read(node)']
    if info['parentsDropped']:
        notes.append('revlogs keep 2 parents: %d versions had more, %d parents dropped'
                     % (info['versionsWithDroppedParents'], info['parentsDropped']))
    else:
        notes.append('no version had more than 2 parents')
    raw = sum(e['byteLength'] for e in entries)
    return {
        'system': SYSTEM,
        'version': 'mercurial %s' % util.version().decode('utf-8'),
        'notes': '; '.join(notes),
        'texts': len(entries),
        'rawBytes': raw,
        'storedBytes': stored,
        'dFileBytes': d_bytes,
        'iFileBytes': stored - d_bytes,
        'fncacheBytes': os.path.getsize(fncache) if os.path.exists(fncache) else 0,
        'filelogs': info['filelogs'],
        'parentsDropped': info['parentsDropped'],
        'importSeconds': info['importSeconds'],
        'importMBps': raw / 1e6 / info['importSeconds'] if info['importSeconds'] > 0 else None,
        'importChildSeconds': wall_seconds,
        'importChildCpuSeconds': cpu_seconds,
        'peakRssBytes': peak_rss,
        'extract': _common.summary_ms(times_ms),
    }


if __name__ == '__main__':
    if len(sys.argv) == 5 and sys.argv[1] == '--import-child':
        import_child(sys.argv[2], sys.argv[3], sys.argv[4])
    else:
        _common.main_wrapper(SYSTEM, main)
