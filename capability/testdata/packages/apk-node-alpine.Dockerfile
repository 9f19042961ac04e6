FROM node:22-alpine
RUN echo hi
