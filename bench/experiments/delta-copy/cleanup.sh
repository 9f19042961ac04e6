#!/bin/bash
# Removes the experiments' images and work folder.
WORK=${WORK:-/tmp/bigedit}
docker rmi $(docker images -q 'cb-bigedit-exp' | sort -u) 2>/dev/null || true
rm -rf "$WORK"
