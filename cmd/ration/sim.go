package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/spf13/cobra"

	"github.com/rationhq/ration/pipelines/dm"
)

func newSimCmd(g *globals) *cobra.Command {
	addr := "127.0.0.1:8090"
	var (
		sim       dm.Simulator
		downFor   time.Duration
		errorRate float64
	)
	cmd := &cobra.Command{
		Use:   "sim",
		Short: "Serve the DM checker simulator over HTTP",
		Long: `Answers GET /check/{user_id} with {"open_dm": bool}: the same answer for
the same user every time, after --latency, failing with 503 at --error-rate
or while down (--down-for). Point workers at it with
--checker-url 'http://HOST:PORT/check/{user_id}'.

Faults can be changed while it runs:

  curl -X PUT HOST:PORT/admin/faults -d '{"error_rate": 0.3}'
  curl -X PUT HOST:PORT/admin/faults -d '{"down_for_seconds": 120}'
  curl HOST:PORT/admin/faults`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			sim.Faults = new(dm.Faults)
			if err := sim.Faults.Set(errorRate, downFor); err != nil {
				return err
			}
			return serveSim(cmd.Context(), g, addr, sim)
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&addr, "http", addr, "listen address")
	fs.DurationVar(&sim.Latency, "latency", 0, "latency of every check")
	fs.Float64Var(&errorRate, "error-rate", 0, "share of checks that fail (0..1); changeable at /admin/faults")
	fs.DurationVar(&downFor, "down-for", 0, "start down, failing every check, for this long")
	return cmd
}

func serveSim(ctx context.Context, g *globals, addr string, sim dm.Simulator) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: dm.SimHandler(sim, g.log), ReadHeaderTimeout: 5 * time.Second}
	fmt.Printf("ration sim ready url=http://%s/check/{user_id}\n", ln.Addr())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil {
		return err
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
