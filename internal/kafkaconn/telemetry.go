package kafkaconn

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/plugin/kprom"
)

// Telemetry measures every franz-go client of a process through one kprom
// plugin, labelled by client id.
type Telemetry struct{ m *kprom.Metrics }

// NewTelemetry registers franz-go client metrics (namespace ration_kafka)
// on reg.
func NewTelemetry(reg prometheus.Registerer) *Telemetry {
	return &Telemetry{m: kprom.NewMetrics("ration_kafka", kprom.Registerer(reg), kprom.WithClientLabel())}
}

// ClientOpts returns the options that name a client and measure it. Every
// client of a process needs its own id: the id is the metrics' label.
func (t *Telemetry) ClientOpts(clientID string) []kgo.Opt {
	opts := []kgo.Opt{kgo.ClientID(clientID)}
	if t != nil {
		opts = append(opts, kgo.WithHooks(t.m))
	}
	return opts
}
