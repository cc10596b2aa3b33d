package api

import (
	"context"
	"sync"

	"golang.org/x/sync/errgroup"
)

// Tasks are what a pipeline's routes need running beside the server (a
// follower of a topic, say). The API role runs them for as long as it
// serves, and serves only once each is ready.
type Tasks struct {
	mu    sync.Mutex
	tasks []task
}

type task struct {
	run   func(context.Context) error
	ready <-chan struct{}
}

// Go adds run, which is ready once ready is closed (nil: at once). run
// returns nil when its context ends.
func (t *Tasks) Go(run func(context.Context) error, ready <-chan struct{}) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.tasks = append(t.tasks, task{run: run, ready: ready})
}

// Run runs every task until ctx ends or one fails.
func (t *Tasks) Run(ctx context.Context) error {
	t.mu.Lock()
	tasks := append([]task{}, t.tasks...)
	t.mu.Unlock()
	g, ctx := errgroup.WithContext(ctx)
	for _, tk := range tasks {
		g.Go(func() error { return tk.run(ctx) })
	}
	return g.Wait()
}

// Ready waits until every task is ready, or ctx ends.
func (t *Tasks) Ready(ctx context.Context) error {
	t.mu.Lock()
	tasks := append([]task{}, t.tasks...)
	t.mu.Unlock()
	for _, tk := range tasks {
		if tk.ready == nil {
			continue
		}
		select {
		case <-tk.ready:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}
