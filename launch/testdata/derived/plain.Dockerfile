FROM claude-bottle:latest
WORKDIR "/home/me/project"
LABEL dev.claude-bottle.cwd="/home/me/project"
