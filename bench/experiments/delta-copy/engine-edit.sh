#!/bin/bash
# A one-file edit on the engine: plain docker build against the delta chained
# on a prefix image (one COPY of the file), alternately, RUNS times.
source "$(dirname "$0")/common.sh"
printf 'FROM cb-bigedit-exp:prefix\nCOPY data/edit.txt /data/edit.txt\nRUN echo big > /kind\n' > ctx/Dockerfile.delta1
dk build -q -t cb-bigedit-exp:plain ctx >/dev/null
for i in $(seq "${RUNS:-3}"); do
  echo "plain $i $(ms)" > ctx/data/edit.txt
  s=$(ms); dk build -q -t cb-bigedit-exp:plain ctx >/dev/null; e=$(ms); echo "plain $i: $(( (e-s)/1000000 )) ms"
  s=$(ms); prefix cb-bigedit-exp:plain cb-bigedit-exp:prefix 3; e=$(ms); echo "prefix image $i: $(( (e-s)/1000000 )) ms"
  echo "delta $i $(ms)" > ctx/data/edit.txt
  s=$(ms); dk build -q -f ctx/Dockerfile.delta1 -t cb-bigedit-exp:delta ctx >/dev/null; e=$(ms); echo "delta $i: $(( (e-s)/1000000 )) ms"
done
