#!/usr/bin/python3
"""Breezy's 2a format (groupcompress) on a benchmark corpus.

    breezy-2a.py CORPUS_DIR WORK_DIR [--sample N] [--seed S]

Import (in a child process, for its peak RSS): a 2a repository in WORK_DIR/breezy-2a, every text
inserted into `repo.texts` as key (file_id, rev_id) with parents ((file_id, parent_rev), ...), as
fulltext content factories through `insert_record_stream`, in manifest order, in one write group;
then `repo.pack(clean_obsolete_packs=True)`, which is what `brz pack --clean-obsolete-packs` does: it
recompresses every text in 'groupcompress' order (by file id, newest first) into one pack.
importSeconds covers both steps (insertSeconds and packSeconds are given apart).

file_id is the path and rev_id the corpus rev; bytes a Breezy index key may not hold (whitespace,
NUL) and '%' and ':' are %XX-escaped.

storedBytes: .bzr/repository/packs/*.pack + indices/* (.rix .iix .cix .six .tix; only .tix is
non-empty in substance here, the others hold no keys) + pack-names, after the pack. Obsolete
packs are deleted; `format`, locks and the branch/tree control files are not counted.

Extraction, in this process: for each sampled key, cold (the texts' group cache and B-tree leaf
caches cleared, `repo.texts.clear_cache()`; the B-tree root and internal nodes stay cached, as in
one open repository), timed `get_record_stream([key], 'unordered', True)` +
`get_bytes_as('fulltext')`, the text checked against the corpus sha256. readBytes counts the bytes
the transport's readv/get_bytes returned from .pack files (the whole compressed group, which
Breezy always reads entire); indexReadBytes those from index files. decompressedBytes is the
length of the group content zlib produced for the key (Breezy decompresses only the prefix up to
the text's end unless that is more than 3/4 of the group).

Prints one JSON object; on failure {"system", "error"} and exit 1.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _common  # noqa: E402

SYSTEM = 'breezy 2a'
USAGE = 'breezy-2a.py CORPUS_DIR WORK_DIR [--sample N] [--seed S]'

_common.reexec_under_system_python('breezy')

# Defaults only: no user configuration, no log file in $HOME.
os.environ.setdefault('BRZ_LOG', os.devnull)

_ESCAPED = frozenset(b'\t\n\x0b\x0c\r\x00 %:')


def key_element(name):
    data = name.encode('utf-8')
    if not data:
        return b'%00empty'
    return b''.join(b'%%%02X' % byte if byte in _ESCAPED else bytes((byte,)) for byte in data)


def text_key(entry_file, rev):
    return (key_element(entry_file), key_element(rev))


def breezy_setup():
    import breezy
    breezy.initialize(setup_ui=False)
    import breezy.bzr  # noqa: F401 - registers the bzr control dir formats and probers (2a among them)
    return breezy


def c_extension_status():
    try:
        from breezy.bzr import _groupcompress_pyx  # noqa: F401
    except ImportError as e:
        return False, 'C extension NOT loaded (breezy.bzr._groupcompress_pyx: %s); pure-Python groupcompress' % e
    from breezy.bzr import groupcompress
    return True, 'C extension loaded (breezy.bzr._groupcompress_pyx; compressor %s)' % groupcompress.GroupCompressor.__name__


def repository_byte_lengths(repo_dir):
    root = os.path.join(repo_dir, '.bzr', 'repository')
    packs = _common.tree_byte_length(os.path.join(root, 'packs'))
    indices = _common.tree_byte_length(os.path.join(root, 'indices'))
    text_index = _common.tree_byte_length(os.path.join(root, 'indices'), lambda p: p.endswith('.tix'))
    pack_names = os.path.getsize(os.path.join(root, 'pack-names'))
    pack_count = len([n for n in os.listdir(os.path.join(root, 'packs')) if n.endswith('.pack')])
    return {'packBytes': packs, 'indexBytes': indices, 'textIndexBytes': text_index,
            'packNamesBytes': pack_names, 'packCount': pack_count,
            'storedBytes': packs + indices + pack_names}


# ---- import, in a child process -------------------------------------------------------------

def import_child(corpus, repo_dir):
    import json
    import time
    breezy_setup()
    from breezy import controldir
    from breezy.bzr.versionedfile import FulltextContentFactory

    entries = _common.read_manifest(corpus)
    started = time.perf_counter()
    format = controldir.format_registry.make_controldir('2a')
    repo = controldir.ControlDir.create(repo_dir, format=format).create_repository()

    def stream():
        for entry in entries:
            file = entry['file']
            parents = tuple(text_key(file, parent) for parent in entry['parents'])
            text = _common.read_blob(corpus, entry['sha256'])
            yield FulltextContentFactory(text_key(file, entry['rev']), parents, None, text)

    with repo.lock_write():
        repo.start_write_group()
        try:
            repo.texts.insert_record_stream(stream())
        except BaseException:
            repo.abort_write_group()
            raise
        repo.commit_write_group()
    inserted = time.perf_counter()
    before_pack = repository_byte_lengths(repo_dir)
    repo.pack(clean_obsolete_packs=True)
    packed = time.perf_counter()
    print(json.dumps({
        'insertSeconds': inserted - started,
        'packSeconds': packed - inserted,
        'importSeconds': packed - started,
        'beforePackBytes': before_pack['storedBytes'],
        'beforePackCount': before_pack['packCount'],
    }))


# ---- measurement -----------------------------------------------------------------------------

class ReadCounter:
    """Counts bytes Breezy's transports hand back, by kind of file."""

    def __init__(self):
        self.pack_bytes = 0
        self.index_bytes = 0
        self.other_bytes = 0

    def count(self, relpath, byte_length):
        if relpath.endswith('.pack'):
            self.pack_bytes += byte_length
        elif relpath.endswith(('.tix', '.rix', '.iix', '.cix', '.six')):
            self.index_bytes += byte_length
        else:
            self.other_bytes += byte_length

    def install(self):
        from breezy import transport
        counter = self
        original_readv = transport.Transport.readv
        original_get_bytes = transport.Transport.get_bytes

        def readv(self, relpath, offsets, *args, **kwargs):
            for offset, data in original_readv(self, relpath, offsets, *args, **kwargs):
                counter.count(relpath, len(data))
                yield offset, data

        def get_bytes(self, relpath, *args, **kwargs):
            data = original_get_bytes(self, relpath, *args, **kwargs)
            counter.count(relpath, len(data))
            return data

        transport.Transport.readv = readv
        transport.Transport.get_bytes = get_bytes


class BlockTracker:
    """Remembers the GroupCompressBlocks fetched, to read how much of each zlib expanded."""

    def __init__(self):
        self.blocks = []

    def install(self):
        from breezy.bzr import groupcompress
        tracker = self
        original = groupcompress.GroupCompressVersionedFiles._get_blocks

        def _get_blocks(self, read_memos):
            for read_memo, block in original(self, read_memos):
                tracker.blocks.append(block)
                yield read_memo, block

        groupcompress.GroupCompressVersionedFiles._get_blocks = _get_blocks

    def take_decompressed_bytes(self):
        total = sum(len(block._content) for block in self.blocks if block._content is not None)
        self.blocks = []
        return total


def main(argv):
    import json
    import shutil
    import time
    corpus, work, sample_size, seed = _common.parse_args(argv, USAGE)
    os.makedirs(work, exist_ok=True)
    repo_dir = os.path.join(work, 'breezy-2a')
    shutil.rmtree(repo_dir, ignore_errors=True)

    breezy = breezy_setup()
    c_loaded, c_note = c_extension_status()

    _, stdout, wall_seconds, peak_rss, cpu_seconds = _common.run_child(
        [sys.executable, os.path.abspath(__file__), '--import-child', corpus, repo_dir])
    timings = json.loads(stdout.decode('utf-8').strip().splitlines()[-1])
    sizes = repository_byte_lengths(repo_dir)

    entries = _common.read_manifest(corpus)
    sample = _common.sample_entries(entries, sample_size, seed)
    reads = ReadCounter()
    reads.install()
    blocks = BlockTracker()
    blocks.install()
    from breezy import controldir
    repo = controldir.ControlDir.open(repo_dir).open_repository()
    times_ms, read_bytes, index_read_bytes, decompressed_bytes = [], [], [], []
    with repo.lock_read():
        texts = repo.texts
        for entry in sample:
            key = text_key(entry['file'], entry['rev'])
            texts.clear_cache()
            blocks.take_decompressed_bytes()
            pack_before, index_before = reads.pack_bytes, reads.index_bytes
            started = time.perf_counter()
            text = None
            # A record is valid only until the stream advances, so extract inside the loop.
            for record in texts.get_record_stream([key], 'unordered', True):
                if record.storage_kind == 'absent':
                    raise RuntimeError('key %r not in the repository' % (key,))
                text = record.get_bytes_as('fulltext')
            times_ms.append((time.perf_counter() - started) * 1000)
            if text is None:
                raise RuntimeError('no record for key %r' % (key,))
            read_bytes.append(reads.pack_bytes - pack_before)
            index_read_bytes.append(reads.index_bytes - index_before)
            decompressed_bytes.append(blocks.take_decompressed_bytes())
            _common.check_text(entry, text)

    raw = sum(e['byteLength'] for e in entries)
    return {
        'system': SYSTEM,
        'version': 'breezy %s' % breezy.__version__,
        'notes': '%s; storedBytes = packs + indices + pack-names after repo.pack(); '
                 'extraction cold per key (texts.clear_cache())' % c_note,
        'cExtension': c_loaded,
        'texts': len(entries),
        'rawBytes': raw,
        'storedBytes': sizes['storedBytes'],
        'packBytes': sizes['packBytes'],
        'indexBytes': sizes['indexBytes'],
        'textIndexBytes': sizes['textIndexBytes'],
        'packNamesBytes': sizes['packNamesBytes'],
        'beforePackBytes': timings['beforePackBytes'],
        'importSeconds': timings['importSeconds'],
        'insertSeconds': timings['insertSeconds'],
        'packSeconds': timings['packSeconds'],
        'importMBps': raw / 1e6 / timings['importSeconds'] if timings['importSeconds'] > 0 else None,
        'importChildSeconds': wall_seconds,
        'importChildCpuSeconds': cpu_seconds,
        'peakRssBytes': peak_rss,
        'extract': _common.summary_ms(times_ms),
        'readBytes': _common.summary_bytes(read_bytes),
        'indexReadBytes': _common.summary_bytes(index_read_bytes),
        'decompressedBytes': _common.summary_bytes(decompressed_bytes),
    }


if __name__ == '__main__':
    if len(sys.argv) == 4 and sys.argv[1] == '--import-child':
        import_child(sys.argv[2], sys.argv[3])
    else:
        _common.main_wrapper(SYSTEM, main)
