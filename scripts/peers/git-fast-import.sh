#!/usr/bin/env bash
# git fast-import + git repack on a benchmark corpus; see git-fast-import.py (the program) for what
# is measured and counted. Prints a JSON array of two results: "git" and "git --window=250".
#   git-fast-import.sh CORPUS_DIR WORK_DIR [--sample N] [--seed S]
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
python=$(command -v python3 || echo /usr/bin/python3)
exec "$python" "$here/git-fast-import.py" "$@"
