# Sourced by the delta-copy experiments: a private copy of the bench's big
# context in $WORK (default /tmp/bigedit), so the bench's own copy is untouched.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
WORK=${WORK:-/tmp/bigedit}
mkdir -p "$WORK"; cd "$WORK"
[ -d ctx ] || cp -a "$HOME/.cache/claude-bottle/bench/big/ctx" ctx
dk() { DOCKER_BUILDKIT=1 /usr/bin/docker "$@"; }
ms() { date +%s%N; }
# tree IMAGE OUT: every entry of IMAGE's filesystem, one line each (treehash.py).
tree() { local c; c=$(docker create "$1" /bin/true); docker export "$c" | python3 "$here/treehash.py" > "$2"; docker rm "$c" >/dev/null; }
# prefix FROM TAG N: an image TAG made of FROM's first N layers, loaded with no layer data.
prefix() { python3 "$here/mkprefix.py" "$2" "$3" $(docker image inspect "$1" --format '{{range .RootFS.Layers}}{{.}} {{end}}') | docker load -q >/dev/null; }
