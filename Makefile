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

## test: every test, under the race detector (installs clickhouse-server,
## kcat and zookeeper when missing)
test: deps vet
	$(GO) test -race -count=1 -timeout 25m ./...

vet:
	$(GO) vet ./...

## bench: the DM benchmarks and the Go benchmarks (dm-read and the sink's
## need clickhouse-server, installed when missing); docs/benchmarks.md
bench: deps build
	$(BIN) bench dm --users 1000000 --workers 2
	$(BIN) bench dm-read --users 1000000
	$(GO) test -run '^$$' -bench . -benchmem ./schemas/... ./processor/ ./pipelines/... ./sink/ ./api/ ./auth/

## fuzz: a short run of every fuzz target
fuzz:
	$(GO) test -run '^$$' -fuzz FuzzEventDecoding -fuzztime 30s ./schemas/
	$(GO) test -run '^$$' -fuzz FuzzDecode -fuzztime 30s ./schemas/
	$(GO) test -run '^$$' -fuzz FuzzStructCodecDecode -fuzztime 30s ./schemas/structcodec/
	$(GO) test -run '^$$' -fuzz FuzzRecordDecoding -fuzztime 30s ./pipelines/dm/
	$(GO) test -run '^$$' -fuzz FuzzDecodeMark -fuzztime 30s ./pipelines/dm/
	$(GO) test -run '^$$' -fuzz FuzzCursor -fuzztime 30s ./pipelines/dm/
	$(GO) test -run '^$$' -fuzz FuzzComposeEmail -fuzztime 30s ./notify/
	$(GO) test -run '^$$' -fuzz FuzzValidate -fuzztime 30s ./pipelines/receipts/receipttype/
	$(GO) test -run '^$$' -fuzz FuzzXMLReceipt -fuzztime 30s ./pipelines/receipts/xmlreceipt/
	$(GO) test -run '^$$' -fuzz FuzzRead -fuzztime 30s ./pipelines/receipts/
	$(GO) test -run '^$$' -fuzz FuzzDecodeRegistration -fuzztime 30s ./pipelines/receipts/registrar/

clean:
	rm -rf bin
