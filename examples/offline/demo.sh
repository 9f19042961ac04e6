#!/usr/bin/env bash
# The whole claude-bottle flow on a machine with Docker and no registry:
# prepare the offline example repo, give one bottle its own Dockerfile,
# build every bottle headless, launch one in a project folder, and run the
# remediation loop: request from inside the bottle, approve, swap, resume.
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

# Phase 2, the remediation loop: the agent in demo-extra lacks a tool and
# asks for it from inside its bottle; the operator approves; the new image
# is built while the agent waits, the bottle restarts on it with its
# transcript, and the resume command carries on where the agent was.
if "$cb" capability list demo-extra --repo "$repo" | grep -q '^demo-tool '; then
  "$cb" capability remove demo-extra demo-tool --repo "$repo" --progress quiet >/dev/null # a rerun starts without it
fi
cat > "$project/agent.sh" <<'AGENT'
if [ -f /etc/demo-tool ]; then
  echo "agent: resumed on the new image, with $(cat /etc/demo-tool); session: $(cat "$HOME/.claude/projects/demo/session.jsonl")"
  exit 0
fi
mkdir -p "$HOME/.claude/projects/demo" && echo "asked for demo-tool" > "$HOME/.claude/projects/demo/session.jsonl"
echo "agent: demo-tool is missing; asking the operator for it"
/opt/claude-bottle/bin/claude-bottle request capability demo-tool --run 'echo "demo-tool 1.0" > /etc/demo-tool' \
  --reason "the demo agent needs demo-tool" --wait 2m
sleep 600 # the swap stops this container once the call has its answer
AGENT
printf '\n\033[1m$ %s\033[0m\n' "$cb launch demo-extra --cwd $project --resume-command 'sh agent.sh' -- sh agent.sh &"
"$cb" launch demo-extra --repo "$repo" --cwd "$project" --no-build --progress quiet \
  --resume-command 'sh agent.sh' -- sh agent.sh &
launched=$!
id=
for _ in $(seq 1 300); do
  id=$("$cb" request list demo-extra --format json | jq -r '[.[] | select(.state == "pending")][0].id // empty')
  [ -n "$id" ] && break
  sleep 0.2
done
[ -n "$id" ] || { echo "demo: the agent's request never arrived" >&2; kill "$launched"; exit 1; }
step "$cb" request approve "$id" --repo "$repo" --progress plain
wait "$launched"
step "$cb" capability log demo-extra
