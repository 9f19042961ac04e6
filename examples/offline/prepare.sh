#!/usr/bin/env bash
# Supplies the offline example bottle's only dependency, a static busybox
# (Debian's busybox-static), at build time.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src=${BUSYBOX:-/bin/busybox}
[ -x "$src" ] || { echo "prepare: no static busybox at $src (apt-get install busybox-static)" >&2; exit 1; }
install -m 0755 "$src" "$here/repo/busybox"
