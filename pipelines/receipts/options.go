package receipts

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/spf13/pflag"

	"github.com/rationhq/ration/pipeline"
	"github.com/rationhq/ration/pipelines/receipts/registrar"
)

// Options are the receipts pipeline's own settings: the services its
// stages register receipts with.
type Options struct {
	// TaxURL and LogisticsURL are the services' base URLs (they speak
	// the registrar contract). The defaults are where `ration sim tax`
	// and `ration sim logistics` listen.
	TaxURL, LogisticsURL string
	// RegisterTimeout bounds one registration call. Default 5s.
	RegisterTimeout time.Duration
}

var _ pipeline.Options = (*Options)(nil)

// DefaultOptions returns the defaults.
func DefaultOptions() *Options {
	return &Options{TaxURL: "http://127.0.0.1:8091", LogisticsURL: "http://127.0.0.1:8092", RegisterTimeout: 5 * time.Second}
}

// Flags implements pipeline.Options.
func (o *Options) Flags(fs *pflag.FlagSet) {
	fs.StringVar(&o.TaxURL, "tax-url", o.TaxURL, "base URL of the tax office (the registrar contract; ration sim tax serves one)")
	fs.StringVar(&o.LogisticsURL, "logistics-url", o.LogisticsURL, "base URL of the logistics service (ration sim logistics serves one)")
	fs.DurationVar(&o.RegisterTimeout, "register-timeout", o.RegisterTimeout, "timeout of one registration call")
}

// Validate implements pipeline.Options.
func (o *Options) Validate() error {
	for name, u := range map[string]string{"tax-url": o.TaxURL, "logistics-url": o.LogisticsURL} {
		if p, err := url.Parse(u); err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
			return fmt.Errorf("receipts: --%s %q is not an http(s) URL", name, u)
		}
	}
	if o.RegisterTimeout <= 0 {
		return errors.New("receipts: --register-timeout must be positive")
	}
	return nil
}

// registry returns the client of the service a stage registers with.
func (o *Options) registry(stage string) (Registrar, error) {
	base := o.TaxURL
	if stage == StageLogistics {
		base = o.LogisticsURL
	}
	return registrar.New(base, nil, registrar.Timeout(o.RegisterTimeout))
}

var _ pipeline.Simulated = (*Options)(nil)

// Simulate implements pipeline.Simulated: `ration dev` runs the tax office
// and the logistics service simulated, on free loopback ports, unless
// --tax-url or --logistics-url names a real one.
func (o *Options) Simulate(set func(flag string) bool, log *slog.Logger) ([]string, func(), error) {
	var (
		urls  []string
		stops []func()
	)
	stop := func() {
		for _, s := range stops {
			s()
		}
	}
	for _, s := range []struct {
		flag string
		svc  registrar.Service
		url  *string
	}{{"tax-url", registrar.TaxOffice, &o.TaxURL}, {"logistics-url", registrar.Logistics, &o.LogisticsURL}} {
		if set != nil && set(s.flag) {
			urls = append(urls, s.svc.Name+"="+*s.url)
			continue
		}
		sim, err := registrar.NewSimulator(s.svc, log)
		if err != nil {
			stop()
			return nil, nil, err
		}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			stop()
			return nil, nil, err
		}
		srv := &http.Server{Handler: sim, ReadHeaderTimeout: 5 * time.Second}
		go func() { _ = srv.Serve(ln) }()
		stops = append(stops, func() { _ = srv.Close() })
		*s.url = "http://" + ln.Addr().String()
		urls = append(urls, s.svc.Name+"="+*s.url)
	}
	return urls, stop, nil
}
