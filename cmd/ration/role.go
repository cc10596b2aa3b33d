package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/cobra"
	"golang.org/x/sync/errgroup"

	"github.com/rationhq/ration/internal/obs"
)

// runRole runs one role next to its /metrics server and prints "ration
// <role> ready metrics=HOST:PORT" once that is served ("metrics=" when it
// is off). It returns when either ends.
func runRole(ctx context.Context, role, metricsAddr string, reg *prometheus.Registry, run func(context.Context) error, metrics ...obs.Opt) error {
	if metricsAddr == "" {
		fmt.Printf("ration %s ready metrics=\n", role)
	}
	grp, ctx := errgroup.WithContext(ctx)
	grp.Go(func() error { return run(ctx) })
	grp.Go(func() error {
		return obs.Serve(ctx, metricsAddr, reg, func(a net.Addr) {
			fmt.Printf("ration %s ready metrics=%s\n", role, a)
		}, metrics...)
	})
	if err := grp.Wait(); err != nil {
		return fmt.Errorf("%s: %w", role, err)
	}
	return nil
}

// metricsOpts are obs.Serve's options for cmd's --metrics: its default
// address gives way to a free port when another process on the host has
// it (several workers on one host), an address the operator gave (flag,
// RATION_METRICS or the config file) does not.
func metricsOpts(cmd *cobra.Command, log *slog.Logger) []obs.Opt {
	if cmd.Flags().Changed("metrics") {
		return nil
	}
	return []obs.Opt{obs.DefaultAddr(log)}
}
