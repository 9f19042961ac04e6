ARG GO=1.26
FROM golang:${GO} AS build
RUN go build -o /out/tool ./cmd/tool

FROM debian:bookworm AS runtime
COPY --from=build /out/tool /usr/local/bin/tool
USER 1000:1000
CMD ["tool"]
