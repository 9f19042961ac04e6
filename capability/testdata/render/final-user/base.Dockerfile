FROM node:22-bookworm
RUN apt-get update && apt-get install -y git
USER node
WORKDIR /home/node
