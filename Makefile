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

## test: every test, under the race detector, then every fuzz target for
## 5 000 inputs (installs clickhouse-server, kcat and zookeeper when
## missing). A count, not a duration: Go before 1.27 can fail a fuzz run
## whose time is up while a worker is busy ("context deadline exceeded",
## golang/go#75804), which a loaded machine makes likely.
test: deps vet
	$(GO) test -race -count=1 -timeout 25m ./...
	$(MAKE) --no-print-directory fuzz FUZZTIME=5000x

vet:
	$(GO) vet ./... github.com/twmb/franz-go/pkg/kfake

## bench: the DM benchmarks and the Go benchmarks (dm-read and the sink's
## need clickhouse-server, installed when missing); docs/benchmarks.md
bench: deps build
	$(BIN) bench dm --users 1000000 --workers 2
	$(BIN) bench dm-read --users 1000000
	$(GO) test -run '^$$' -bench . -benchmem ./schemas/... ./processor/ ./pipelines/... ./sink/ ./api/ ./auth/

## chaos: the whole stack as processes for 10 minutes under load and
## faults (kill -9, cut connections, zombies, simulator outages), then
## every checker; the last line is violations=<n> faults=<n>
.PHONY: chaos
chaos: deps build
	$(BIN) chaos --duration 10m $(ARGS)

## fuzz: every fuzz target for FUZZTIME each (make fuzz FUZZTIME=10m for
## a long run); make test runs each for a few seconds
FUZZTIME ?= 30s
FUZZ := \
	./schemas/:FuzzEventDecoding ./schemas/:FuzzDecode ./schemas/structcodec/:FuzzStructCodecDecode \
	./pipelines/dm/:FuzzRecordDecoding ./pipelines/dm/:FuzzDecodeMark ./pipelines/dm/:FuzzCursor \
	./notify/:FuzzComposeEmail \
	./pipelines/receipts/receipttype/:FuzzValidate ./pipelines/receipts/xmlreceipt/:FuzzXMLReceipt \
	./pipelines/receipts/:FuzzRead ./pipelines/receipts/registrar/:FuzzDecodeRegistration \
	./pipelines/receipts/registrar/:FuzzCanonicalForm ./pipelines/receipts/:FuzzReceiptDecoding \
	./pipelines/receipts/:FuzzReceiptStatusDecoding ./pipelines/receipts/:FuzzReceiptTotalDecoding \
	./pipelines/points/:FuzzBodies ./pipelines/points/:FuzzLedger ./pipelines/points/:FuzzTokens \
	./pipelines/points/:FuzzUserCursor ./:FuzzDecodeCursor
fuzz:
	@set -e; for t in $(FUZZ); do \
		echo "fuzz $${t#*:} ($${t%%:*}) for $(FUZZTIME)"; \
		$(GO) test -run '^$$' -fuzz "^$${t#*:}$$" -fuzztime $(FUZZTIME) "$${t%%:*}"; \
	done

clean:
	rm -rf bin
