// Package pb holds the gRPC protocol between claude-bottle and its driver
// plugins: driver.proto and the Go code protoc generates from it.
package pb

//go:generate ./gen.sh
