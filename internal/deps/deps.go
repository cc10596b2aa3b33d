// Package deps pins the project's dependencies while packages that use them
// are being written in parallel. Delete it once every import is real.
package deps

import (
	_ "github.com/ClickHouse/clickhouse-go/v2"
	_ "github.com/linkedin/goavro/v2"
	_ "github.com/prometheus/client_golang/prometheus"
	_ "github.com/prometheus/client_golang/prometheus/promhttp"
	_ "github.com/spf13/cobra"
	_ "github.com/twmb/franz-go/pkg/kadm"
	_ "github.com/twmb/franz-go/pkg/kfake"
	_ "github.com/twmb/franz-go/pkg/kgo"
	_ "github.com/twmb/franz-go/pkg/sr"
	_ "github.com/twmb/franz-go/pkg/sr/srfake"
	_ "github.com/twmb/franz-go/plugin/kprom"
	_ "github.com/twmb/franz-go/plugin/kslog"
	_ "golang.org/x/time/rate"
	_ "gopkg.in/yaml.v3"
)
