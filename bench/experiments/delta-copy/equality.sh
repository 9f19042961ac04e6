#!/bin/bash
# Five kinds of change (edit, add, delete, chmod, a file replaced by a folder)
# built plainly and as a delta chained on a prefix image (the layers up to
# COPY data); prints both trees' hashes and their differences.
# Run as root inside: flock /tmp/cb-engine.lock bash equality.sh
source "$(dirname "$0")/common.sh"
echo "state A $(ms)" > ctx/data/edit.txt
dk build -q -t cb-bigedit-exp:plainA ctx >/dev/null
prefix cb-bigedit-exp:plainA cb-bigedit-exp:prefix 3
echo "state B $(ms)" > ctx/data/edit.txt
echo "new $(ms)" > "ctx/data/d001/new-$(ms).txt"; new=$(ls ctx/data/d001 | grep "^new-" | sort | tail -1)
# The first regular file of a folder: a rerun picks files not changed before.
first() { find "ctx/data/$1" -maxdepth 1 -type f -name 'f*' -perm 644 | sort | head -1 | xargs basename; }
del=$(first d002); rm "ctx/data/d002/$del"
chz=$(first d003); chmod 600 "ctx/data/d003/$chz"
rep=$(first d004); rm "ctx/data/d004/$rep"; mkdir "ctx/data/d004/$rep"; echo inner > "ctx/data/d004/$rep/inner.txt"
cat > ctx/Dockerfile.delta <<DF
FROM cb-bigedit-exp:prefix
RUN ["/bin/busybox", "rm", "-rf", "/data/d002/$del", "/data/d004/$rep"]
COPY data/edit.txt /data/edit.txt
COPY data/d001/$new /data/d001/$new
COPY data/d003/$chz /data/d003/$chz
COPY data/d004/$rep /data/d004/$rep
RUN echo big > /kind
DF
dk build -q -t cb-bigedit-exp:plainB ctx >/dev/null
dk build -q -f ctx/Dockerfile.delta -t cb-bigedit-exp:deltaB ctx >/dev/null
tree cb-bigedit-exp:plainB plainB.tree; tree cb-bigedit-exp:deltaB deltaB.tree
echo "whole tree:"; sha256sum plainB.tree deltaB.tree
# Folder mtimes and /kind's mtime are the build's time in any plain build.
for f in plainB deltaB; do awk '$2==5 || $1=="kind" {$7="-"}1' $f.tree | sha256sum; done
diff plainB.tree deltaB.tree || true
