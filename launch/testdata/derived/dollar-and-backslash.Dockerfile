FROM claude-bottle:latest
WORKDIR "/srv/\$HOME/a\\b"
LABEL dev.claude-bottle.cwd="/srv/\$HOME/a\\b"
