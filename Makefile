# ration: the two commands are `make run` and `make test`.
GO    ?= go
BIN   := bin/ration
DATA  ?= .data/dev
ARGS  ?=

# Packages whose tests also run under the race detector. The e2e package
# runs worker processes against an in-test broker; under -race that broker
# is too slow for its 200 000-mark crash test, so it runs without.
UNIT_PKGS = $(shell $(GO) list ./... | grep -v /e2e)

.PHONY: all build run test test-unit test-e2e vet deps bench fuzz clean

all: build

build:
	$(GO) build -o $(BIN) ./cmd/ration

deps:
	@./scripts/install-deps.sh

## run: the whole system on embedded defaults (data under $(DATA))
run: deps build
	$(BIN) dev --data-dir $(DATA) $(ARGS)

## test: every test (installs clickhouse-server and kcat when missing)
test: deps vet test-unit test-e2e

vet:
	$(GO) vet ./...

test-unit:
	$(GO) test -race -timeout 20m $(UNIT_PKGS)

test-e2e:
	$(GO) test -timeout 20m ./e2e/...

## bench: the DM benchmark and the Go micro-benchmarks
bench: build
	$(BIN) bench dm --users 1000000 --workers 2
	$(GO) test -run '^$$' -bench . -benchmem ./schemas/ ./processor/...

## fuzz: a short run of every fuzz target
fuzz:
	$(GO) test -run '^$$' -fuzz FuzzDecode -fuzztime 30s ./schemas/

clean:
	rm -rf bin
