FROM node:22-bookworm
RUN apt-get update && apt-get install -y git
USER node
WORKDIR /home/node

# capability "ripgrep": fast search (approved by alice at 2026-12-01T10:00:00Z)
USER root
RUN apt-get update && apt-get install -y ripgrep
USER node

# capability "npmrc": local registry (approved by bob at 2026-12-01T11:00:00Z)
RUN echo registry=http://127.0.0.1:4873 > ~/.npmrc
