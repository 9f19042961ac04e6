#!/usr/bin/env bash
# The whole claude-bottle flow on a machine with Docker and no registry:
# prepare the offline example repo, give one bottle its own Dockerfile,
# build every bottle headless, and launch one in the current folder.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
cb="$top/bin/claude-bottle"
repo="$top/examples/offline/repo"
export CLAUDE_BOTTLE_HOME="${CLAUDE_BOTTLE_HOME:-$top/.demo-home}"
# The agent's working folder: a project of its own (a bottle refuses a --cwd
# that holds claude-bottle's state root, as the checkout holds .demo-home).
project="$top/.demo-project"
mkdir -p "$project"

bash "$top/examples/offline/prepare.sh"
step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; "$@"; }

step "$cb" plan demo --repo "$repo"
# A second bottle gets the repo's Dockerfile plus one capability of its own,
# built then swapped in (once: a second run of the demo finds it there).
if ! "$cb" capability list demo-extra --repo "$repo" | grep -q '^jq-like '; then
  step "$cb" capability add demo-extra jq-like --repo "$repo" --progress plain \
    --run 'echo "capability: jq-like tools" > /etc/capability' --reason "the demo's extra tools"
fi
step "$cb" capability list demo-extra --repo "$repo"
step "$cb" plan demo-extra --repo "$repo"
step "$cb" build demo demo-extra --repo "$repo" --progress plain --metadata-file "$CLAUDE_BOTTLE_HOME/last-build.json"
step "$cb" launch demo-extra --repo "$repo" --cwd "$project" --no-build -- \
  sh -c 'echo "hello from $(cat /etc/capability) in $(pwd)"; mkdir -p /home/node/.claude; date > /home/node/.claude/last-run'
step "$cb" state show demo-extra
