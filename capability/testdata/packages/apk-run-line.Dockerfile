FROM ghcr.io/acme/tools:v2
RUN apk add --no-cache bash
