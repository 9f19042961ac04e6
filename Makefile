# claude-bottle: `make demo` runs the main job, `make test` runs every test.
SHELL := /bin/bash
export PATH := /usr/local/go/bin:$(PATH)
GO ?= go
BIN := bin
PKGS := ./...
FUZZTIME ?= 15s

.PHONY: all build install setup test fmt-check vet test-go test-example fuzz buildkitd demo bench clean

all: build

# Static (CGO_ENABLED=0): the binary is also every bottle's PID 1, mounted
# into images that may have no C library; launch refuses a dynamic one.
build:
	CGO_ENABLED=0 $(GO) build -o $(BIN)/claude-bottle ./cmd/claude-bottle

install:
	CGO_ENABLED=0 $(GO) install ./cmd/claude-bottle

setup:
	bash scripts/setup

# buildkitd and buildctl of the version pinned in go.mod (tool lines), for
# the integration tests and the benchmarks. Reuses the Go build cache.
buildkitd:
	$(GO) build -o $(BIN)/ github.com/moby/buildkit/cmd/buildkitd github.com/moby/buildkit/cmd/buildctl

test: fmt-check vet buildkitd test-go test-example fuzz

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet $(PKGS)

# Unit and integration tests together; integration tests need the real
# engine, buildkitd and registry (scripts/setup) and fail under CI=true when
# one is missing.
test-go:
	@rm -f $(BIN)/tally.txt; mkdir -p $(BIN)
	CB_TALLY_FILE=$(CURDIR)/$(BIN)/tally.txt $(GO) test -race -count=1 -timeout 18m $(PKGS)
	@cat $(BIN)/tally.txt 2>/dev/null || true

# The example driver plugin is a module of its own (as an outside driver
# is), outside ./...: vet and test it in its folder.
EXAMPLE := plugins/examples/buildah
test-example:
	cd $(EXAMPLE) && $(GO) vet ./... && $(GO) test -race -count=1 ./...

fuzz:
	$(GO) test ./state -run '^$$' -fuzz FuzzSlug -fuzztime $(FUZZTIME)

demo: setup build
	bash examples/offline/demo.sh

bench: setup buildkitd build
	bash bench/run

clean:
	rm -rf $(BIN)
