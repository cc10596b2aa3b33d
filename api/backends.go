package api

import (
	"log/slog"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/rationhq/ration"
	"github.com/rationhq/ration/schemas"
)

// Backends are what a pipeline's routes are built with: where to produce,
// where to read, and the server's limits. Routes answer 503 for a write
// without Kafka or a read without ClickHouse (an ingest-only or read-only
// API).
type Backends struct {
	// Kafka produces accepted writes (franz-go's defaults: idempotent,
	// acks=all). Nil: a read-only API.
	Kafka *kgo.Client
	// KafkaOpts reach the same cluster, for a client of the routes' own
	// (a follower of a topic).
	KafkaOpts []kgo.Opt
	Codec     *schemas.Codec
	// ClickHouse answers reads, in Database. Nil: an ingest-only API.
	ClickHouse driver.Conn
	Database   string
	// History answers item histories from the shared events table.
	History ration.HistoryReader
	Config  Config
	Log     *slog.Logger
	// Registry takes the routes' metrics.
	Registry prometheus.Registerer
	// Tasks takes what the routes need running beside the server; nil
	// for routes that need none.
	Tasks *Tasks
}
