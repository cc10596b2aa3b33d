package main

import (
	"context"
	"fmt"
	"net"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/errgroup"

	"github.com/rationhq/ration/internal/obs"
)

// runRole runs one role next to its /metrics server and prints "ration
// <role> ready metrics=HOST:PORT" once that is served ("metrics=" when it
// is off). It returns when either ends.
func runRole(ctx context.Context, role, metricsAddr string, reg *prometheus.Registry, run func(context.Context) error) error {
	if metricsAddr == "" {
		fmt.Printf("ration %s ready metrics=\n", role)
	}
	grp, ctx := errgroup.WithContext(ctx)
	grp.Go(func() error { return run(ctx) })
	grp.Go(func() error {
		return obs.Serve(ctx, metricsAddr, reg, func(a net.Addr) {
			fmt.Printf("ration %s ready metrics=%s\n", role, a)
		})
	})
	if err := grp.Wait(); err != nil {
		return fmt.Errorf("%s: %w", role, err)
	}
	return nil
}
