FROM debian:bookworm AS base
RUN apt-get update
FROM base
RUN echo more
