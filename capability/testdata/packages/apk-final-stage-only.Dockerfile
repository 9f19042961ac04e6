FROM debian:bookworm AS build
RUN apt-get install -y gcc
FROM alpine:3.20
COPY --from=build /x /x
