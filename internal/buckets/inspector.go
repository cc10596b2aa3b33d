package buckets

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/rationhq/ration"
)

// Inspector samples the buckets of the configured stages and answers
// reports from its latest sample. It is safe for concurrent use.
type Inspector struct {
	cfg     Config
	deps    Deps
	log     *slog.Logger
	cl      *kgo.Client
	adm     *kadm.Client
	metrics *metrics
	// topics and groups are every stage's, each once.
	topics []string
	groups []string
	now    func() time.Time

	// turn lets one sample run at a time; a request waiting for it can
	// still give up with its context.
	turn chan struct{}
	// prev is the last sample, which the next one's rates are measured
	// against; only the holder of turn touches it.
	prev *snapshot
	// latest is the last report, read without waiting.
	latest atomic.Pointer[ration.BucketsReport]
}

var _ ration.BucketsReader = (*Inspector)(nil)

// New validates cfg and returns an inspector with a Kafka client of its
// own; Close closes it. Nothing is read before the first sample.
func New(cfg Config, deps Deps) (*Inspector, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	log := deps.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	in := &Inspector{cfg: cfg, deps: deps, log: log.With("component", "buckets"), now: time.Now, turn: make(chan struct{}, 1)}
	for _, s := range cfg.Stages {
		if !slices.Contains(in.groups, s.Group) {
			in.groups = append(in.groups, s.Group)
		}
		for _, t := range s.Topics {
			if !slices.Contains(in.topics, t) {
				in.topics = append(in.topics, t)
			}
		}
	}
	cl, err := kgo.NewClient(append(slices.Clone(deps.Kafka), deps.Measured...)...)
	if err != nil {
		return nil, fmt.Errorf("buckets: %w", err)
	}
	in.cl, in.adm = cl, kadm.NewClient(cl)
	if deps.Registerer != nil {
		if in.metrics, err = newMetrics(deps.Registerer, in.latest.Load); err != nil {
			cl.Close()
			return nil, fmt.Errorf("buckets: metrics: %w", err)
		}
	}
	return in, nil
}

// Close closes the inspector's Kafka client. Reports asked for after it
// fail.
func (in *Inspector) Close() { in.cl.Close() }

// Run samples at once and then every Config.Interval until ctx ends, so
// that reports are cheap and rates are always known. A failed sample is
// logged and the previous report stays. It returns nil when ctx ends.
func (in *Inspector) Run(ctx context.Context) error {
	in.log.Info("bucket sampler started", "interval", in.cfg.Interval, "stages", len(in.cfg.Stages))
	tick := time.NewTicker(in.cfg.Interval)
	defer tick.Stop()
	for {
		if _, err := in.Sample(ctx); err != nil && ctx.Err() == nil {
			in.log.Warn("bucket sample failed; reports keep the previous one", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

// Buckets answers from the latest sample if it is younger than
// Config.Interval, and samples at once if not. The report is shared:
// callers must not modify it.
func (in *Inspector) Buckets(ctx context.Context) (ration.BucketsReport, error) {
	if r, ok := in.fresh(); ok {
		return r, nil
	}
	select {
	case in.turn <- struct{}{}:
	case <-ctx.Done():
		return ration.BucketsReport{}, fmt.Errorf("buckets: waiting for a sample: %w", ctx.Err())
	}
	defer func() { <-in.turn }()
	// Whoever held the turn may have just sampled.
	if r, ok := in.fresh(); ok {
		return r, nil
	}
	return in.sample(ctx)
}

// Sample takes a sample now and returns its report.
func (in *Inspector) Sample(ctx context.Context) (ration.BucketsReport, error) {
	select {
	case in.turn <- struct{}{}:
	case <-ctx.Done():
		return ration.BucketsReport{}, fmt.Errorf("buckets: waiting for a sample: %w", ctx.Err())
	}
	defer func() { <-in.turn }()
	return in.sample(ctx)
}

// sample needs the turn.
func (in *Inspector) sample(ctx context.Context) (ration.BucketsReport, error) {
	ctx, cancel := context.WithTimeout(ctx, in.cfg.SampleTimeout)
	defer cancel()
	snap, err := in.read(ctx)
	in.metrics.countSample(err)
	if err != nil {
		return ration.BucketsReport{}, fmt.Errorf("buckets: %w", err)
	}
	r := report(snap, in.prev)
	in.prev = snap
	in.latest.Store(&r)
	return r, nil
}

func (in *Inspector) fresh() (ration.BucketsReport, bool) {
	r := in.latest.Load()
	if r == nil || in.now().Sub(r.SampledAt.Time) >= in.cfg.Interval {
		return ration.BucketsReport{}, false
	}
	return *r, true
}
