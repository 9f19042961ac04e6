FROM debian:bookworm
USER app

# capability "tools": builds with make (approved by alice at 2026-12-01T10:00:00Z)
USER root
RUN apt-get install -y make
USER app
RUN make --version
