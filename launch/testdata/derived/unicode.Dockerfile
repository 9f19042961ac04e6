FROM claude-bottle:latest
WORKDIR "/home/zoë/プロジェクト"
LABEL dev.claude-bottle.cwd="/home/zoë/プロジェクト"
