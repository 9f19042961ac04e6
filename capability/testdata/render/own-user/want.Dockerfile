FROM scratch
COPY busybox /bin/busybox

# capability "cache-dir": a cache the agent owns (approved by alice at 2026-12-01T10:00:00Z)
USER 1000
RUN mkdir -p /home/agent/.cache
USER root
