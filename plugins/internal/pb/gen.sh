#!/bin/sh
# Regenerates driver.pb.go and driver_grpc.pb.go from driver.proto.
# Needs protoc (Debian: apt-get install protobuf-compiler). The Go plugins
# are pinned to the versions matching go.mod's google.golang.org/protobuf
# and google.golang.org/grpc, and installed into a private folder.
set -eu
cd "$(dirname "$0")"
bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
GOBIN=$bin GOFLAGS= go install google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.12
GOBIN=$bin GOFLAGS= go install google.golang.org/grpc/cmd/protoc-gen-go-grpc@v1.6.2
PATH=$bin:$PATH protoc -I . -I /usr/include \
	--go_out=. --go_opt=paths=source_relative \
	--go-grpc_out=. --go-grpc_opt=paths=source_relative \
	driver.proto
