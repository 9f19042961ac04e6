FROM claude-bottle:latest
WORKDIR "/srv/a&b<c>/\${X}/'q'"
LABEL dev.claude-bottle.cwd="/srv/a&b<c>/\${X}/'q'"
