ARG GO=1.26
FROM golang:${GO} AS build
RUN go build -o /out/tool ./cmd/tool

FROM debian:bookworm AS runtime
COPY --from=build /out/tool /usr/local/bin/tool
USER 1000:1000
CMD ["tool"]

# capability "curl" (approved by alice at 2026-12-01T10:00:00Z)
USER root
RUN apt-get update \
 && apt-get install -y curl
ENV CURL=1
USER 1000:1000
