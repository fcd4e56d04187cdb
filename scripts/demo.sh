#!/usr/bin/env bash
# The README's first command: import the bundled sample history, extract a version, print stats.
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
store=.vstore-demo
rm -rf "$store"
vstore() { node bin/vstore --store "$store" "$@"; }

echo "== sample: corpus/cors.bundle (expressjs/cors, MIT; see corpus/README.md)"
git clone --quiet --bare corpus/cors.bundle "$work/cors.git"
head=$(git -C "$work/cors.git" rev-parse HEAD)

echo "== vstore import-git"
vstore import-git "$work/cors.git"

echo "== vstore log lib/index.js (newest 3: revision, then parents)"
vstore log lib/index.js | head -n 3
# A key's revision is the commit that made that version; the newest one is what HEAD holds.
rev=$(vstore log lib/index.js | head -n 1 | cut -d' ' -f1)

echo "== vstore extract lib/index.js@${rev:0:7} (first lines)"
vstore extract "lib/index.js@${rev:0:7}" | head -n 5
if vstore extract "lib/index.js@$rev" | cmp -s - <(git -C "$work/cors.git" show "$head:lib/index.js"); then
  echo "(byte-identical to git show HEAD:lib/index.js)"
else
  echo "MISMATCH with git show" >&2
  exit 1
fi

parent=$(vstore log lib/index.js | head -n 1 | cut -d' ' -f2)
if [ -n "$parent" ]; then
  echo "== vstore diff --stat lib/index.js@${parent:0:7} lib/index.js@${rev:0:7}"
  vstore diff --stat "lib/index.js@$parent" "lib/index.js@$rev"
fi

echo "== vstore annotate lib/index.js@${rev:0:7} (first lines: revision that introduced each, line number there)"
# `head` may close the pipe before annotate has written everything; under pipefail that SIGPIPE is not an error here.
{ vstore annotate "lib/index.js@$rev" || true; } | head -n 5

echo "== vstore stats"
vstore stats

echo "== vstore verify"
vstore verify
echo "The store is in $store; try: node bin/vstore --store $store dump-group"
