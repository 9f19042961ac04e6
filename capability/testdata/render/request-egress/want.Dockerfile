FROM alpine:3.20
RUN apk add --no-cache git

# capability "jq": asked for by the agent (approved by alice at 2026-12-01T10:00:00Z, request rq-0123456789)
RUN apk add --no-cache jq
