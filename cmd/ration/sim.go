package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/spf13/cobra"

	"github.com/rationhq/ration/pipelines/dm"
	"github.com/rationhq/ration/pipelines/receipts/registrar"
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
  curl HOST:PORT/admin/faults

"ration sim tax" and "ration sim logistics" serve the receipts pipeline's
registrars instead.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			sim.Faults = new(dm.Faults)
			if err := sim.Faults.Set(errorRate, downFor); err != nil {
				return err
			}
			return serveSim(cmd.Context(), cmd.OutOrStdout(), addr, dm.SimHandler(sim, g.log), func(a net.Addr) string {
				return fmt.Sprintf("ration sim ready url=http://%s/check/{user_id}", a)
			})
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&addr, "http", addr, "listen address")
	fs.DurationVar(&sim.Latency, "latency", 0, "latency of every check")
	fs.Float64Var(&errorRate, "error-rate", 0, "share of checks that fail (0..1); changeable at /admin/faults")
	fs.DurationVar(&downFor, "down-for", 0, "start down, failing every check, for this long")
	cmd.AddCommand(
		newRegistrarSimCmd(g, registrar.TaxOffice, "the tax office", "127.0.0.1:8091"),
		newRegistrarSimCmd(g, registrar.Logistics, "the logistics service", "127.0.0.1:8092"),
	)
	return service(cmd)
}

// newRegistrarSimCmd is "ration sim <svc.Name>": a simulator of svc,
// called title in the help, on addr by default.
func newRegistrarSimCmd(g *globals, svc registrar.Service, title, addr string) *cobra.Command {
	var latency, downFor time.Duration
	var errorRate, lostReplyRate, refuseRate float64
	cmd := &cobra.Command{
		Use:   svc.Name,
		Short: "Serve a simulator of " + title + " (receipt registrations) over HTTP",
		Long: `Registers receipts as ` + title + ` would, speaking the registrar contract
(package pipelines/receipts/registrar): POST /v1/registrations with an
Idempotency-Key header and a JSON receipt answers 201
{"registration_number": "` + svc.Prefix + `…"}, and the same key and body
again 200 with the same number. The number follows from the key, so a
restarted simulator gives the same one; registrations are kept in memory.

It fails on purpose: after --latency; with 503 at --error-rate, and
while down (--down-for), without registering; with 503 after registering
at --lost-reply-rate (a retry with the key gets 200); and with 422
"refused: …" for a share --refuse-rate of keys, the same keys every time.

Faults can be changed while it runs, and its counts read:

  curl -X PUT HOST:PORT/admin/faults -d '{"lost_reply_rate": 0.2, "latency_ms": 50}'
  curl -X PUT HOST:PORT/admin/faults -d '{"down_for_seconds": 120}'
  curl HOST:PORT/admin/faults
  curl HOST:PORT/admin/stats`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			sim, err := registrar.NewSimulator(svc, g.log)
			if err != nil {
				return err
			}
			err = sim.Faults().Change(registrar.FaultChange{ErrorRate: &errorRate, LostReplyRate: &lostReplyRate,
				RefuseRate: &refuseRate, Latency: &latency, DownFor: &downFor})
			if err != nil {
				return err
			}
			return serveSim(cmd.Context(), cmd.OutOrStdout(), addr, sim, func(a net.Addr) string {
				return fmt.Sprintf("ration sim %s ready url=http://%s", svc.Name, a)
			})
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&addr, "http", addr, "listen address")
	fs.DurationVar(&latency, "latency", 0, "latency of every call")
	fs.Float64Var(&errorRate, "error-rate", 0, "share of calls that fail with 503 and no effect (0..1)")
	fs.Float64Var(&lostReplyRate, "lost-reply-rate", 0, "share of successful calls answered 503 after registering (0..1)")
	fs.Float64Var(&refuseRate, "refuse-rate", 0, "share of receipts refused for good with 422, chosen by key (0..1)")
	fs.DurationVar(&downFor, "down-for", 0, "start down, failing every call, for this long")
	return service(cmd)
}

// serveSim serves h on addr until ctx ends, printing ready(address) on
// out once it listens.
func serveSim(ctx context.Context, out io.Writer, addr string, h http.Handler, ready func(net.Addr) string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	fmt.Fprintln(out, ready(ln.Addr()))
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
