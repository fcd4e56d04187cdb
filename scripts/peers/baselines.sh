#!/usr/bin/env bash
# xz -9, zstd -19 --long=27 and gzip -9 of each text, on a benchmark corpus; see baselines.py (the
# program) for what is measured. Prints a JSON array of three results.
#   baselines.sh CORPUS_DIR WORK_DIR [--sample N] [--seed S]
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
python=$(command -v python3 || echo /usr/bin/python3)
exec "$python" "$here/baselines.py" "$@"
