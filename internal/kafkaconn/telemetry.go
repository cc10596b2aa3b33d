package kafkaconn

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/plugin/kprom"
)

// Telemetry measures the franz-go clients of a process with kprom, on one
// registry, each client labelled by its client id.
type Telemetry struct{ reg prometheus.Registerer }

// NewTelemetry measures clients (namespace ration_kafka) on reg.
func NewTelemetry(reg prometheus.Registerer) *Telemetry { return &Telemetry{reg: reg} }

// ClientOpts returns the options that name one client and measure it.
// Call it once per client: a kprom plugin serves one client at a time (it
// registers that client's collectors when the client starts and removes
// them when it closes), and the client id labels its series.
func (t *Telemetry) ClientOpts(clientID string) []kgo.Opt {
	opts := []kgo.Opt{kgo.ClientID(clientID)}
	if t != nil {
		opts = append(opts, kgo.WithHooks(kprom.NewMetrics("ration_kafka", kprom.Registerer(t.reg), kprom.WithClientLabel())))
	}
	return opts
}
