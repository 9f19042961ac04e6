FROM claude-bottle-rebuilt-a:latest
WORKDIR "/tmp/my \"quoted\" dir/x y"
LABEL dev.claude-bottle.cwd="/tmp/my \"quoted\" dir/x y"
