package conformance

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"golang.org/x/sync/errgroup"

	"github.com/rationhq/ration/pipeline"
	"github.com/rationhq/ration/processor"
	"github.com/rationhq/ration/schemas"
)

// workerSpec is what a worker runs with, in this process or another (as
// JSON in the environment: see Child).
type workerSpec struct {
	Subject        string        `json:"subject"`
	Kafka          []string      `json:"kafka"`
	Registry       string        `json:"registry"`
	Instance       string        `json:"instance"`
	SessionTimeout time.Duration `json:"session_timeout"`
	MaxPollRecords int           `json:"max_poll_records"`
	Faults         faultSpec     `json:"faults"`
}

// tuning is the stage tuning of the spec: short sessions, so a dead
// worker's buckets move in seconds.
func (w workerSpec) tuning() processor.Tuning {
	t := processor.DefaultTuning()
	t.InstanceID = w.Instance
	t.SessionTimeout = w.SessionTimeout
	if w.MaxPollRecords > 0 {
		t.MaxPollRecords = w.MaxPollRecords
	}
	return t
}

// runWorker runs one worker of every stage of s's pipeline, with f's
// faults, until ctx ends.
func runWorker(ctx context.Context, s Subject, spec workerSpec, f *faults, codec *schemas.Codec, log *slog.Logger) error {
	d := s.descriptor(f)
	deps := processor.Deps{Kafka: []kgo.Opt{kgo.SeedBrokers(spec.Kafka...)}, Codec: codec, Log: log}
	stages, err := d.NewStages(nil, spec.tuning(), deps, pipeline.Env{Codec: codec, Log: log})
	if err != nil {
		return err
	}
	log.Info("worker started", "subject", s.Name, "instance", spec.Instance, "stages", d.StageNames())
	g, ctx := errgroup.WithContext(ctx)
	for _, st := range stages {
		g.Go(func() error { return st.Run(ctx) })
	}
	return g.Wait()
}

// localWorker is a worker in the test's own process.
type localWorker struct {
	id   string
	log  *logBook
	stop func(t *testing.T) // graceful: the stages finish their batches and leave
}

// startLocal runs a worker of every stage in this process, logging JSON
// into its log book, until it is stopped or the test ends.
func (c *cluster) startLocal(t *testing.T, id string, f *faults) *localWorker {
	t.Helper()
	w := &localWorker{id: id, log: &logBook{board: c.board}}
	log := slog.New(slog.NewJSONHandler(w.log, &slog.HandlerOptions{Level: slog.LevelInfo}))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- runWorker(ctx, c.s, c.spec(id, f.spec), f, c.codec, log) }()
	var once sync.Once
	w.stop = func(t *testing.T) {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("worker %s: %v", id, err)
			}
		})
	}
	t.Cleanup(func() {
		w.stop(t)
		if t.Failed() {
			w.log.dump(t, id)
		}
	})
	return w
}
