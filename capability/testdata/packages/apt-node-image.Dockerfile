FROM node:22
USER node
