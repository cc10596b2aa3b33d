# ration: the two commands are `make run` and `make test`.
GO    ?= go
BIN   := bin/ration
DATA  ?= .data/dev
ARGS  ?=

.PHONY: all build run test vet deps bench fuzz clean

all: build

build:
	$(GO) build -o $(BIN) ./cmd/ration

deps:
	@./scripts/install-deps.sh

## run: the whole system on embedded defaults (data under $(DATA))
run: deps build
	$(BIN) dev --data-dir $(DATA) $(ARGS)

## test: every test, under the race detector (installs clickhouse-server
## and kcat when missing)
test: deps vet
	$(GO) test -race -count=1 -timeout 25m ./...

vet:
	$(GO) vet ./...

## bench: the DM benchmark and the Go benchmarks (the sink's need
## clickhouse-server, installed when missing)
bench: deps build
	$(BIN) bench dm --users 1000000 --workers 2
	$(GO) test -run '^$$' -bench . -benchmem ./schemas/ ./processor/... ./sink/

## fuzz: a short run of every fuzz target
fuzz:
	$(GO) test -run '^$$' -fuzz FuzzHandDecoding -fuzztime 30s ./schemas/
	$(GO) test -run '^$$' -fuzz FuzzDecode -fuzztime 30s ./schemas/

clean:
	rm -rf bin
