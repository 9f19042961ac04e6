FROM debian:bookworm
USER app
