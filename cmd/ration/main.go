// Command ration runs every role of ration (broker, api, worker, sink,
// simulator, reprocessor) and the commands people use against its HTTP API.
// `ration dev` runs all roles in one process on embedded defaults.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"github.com/spf13/cobra"
)

// gcPercent is the garbage collector's target (GOGC) unless the
// environment sets one: the heap may grow to three times what is live
// instead of twice. At the receipts bench's 1 013/s, where `ration dev`
// fills two cores and the collector took about a fifth of its CPU, the
// POST p99 went from 330–690 ms to 190–320 (docs/benchmarks.md).
const gcPercent = 200

func main() {
	if _, set := os.LookupEnv("GOGC"); !set {
		debug.SetGCPercent(gcPercent)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	cmd, err := newRootCmd().ExecuteContextC(ctx)
	stop()
	if err != nil && !stoppedCleanly(ctx, cmd, err) {
		fmt.Fprintln(os.Stderr, "ration:", err)
		os.Exit(1)
	}
}

// serviceAnnotation marks the commands that run until they are told to
// stop (the roles): SIGTERM or Ctrl-C is how they end, so it ends them
// cleanly at any point, start-up included. A people's command interrupted
// before it finished has failed, and says so.
const serviceAnnotation = "ration.service"

// service marks cmd as a role (see serviceAnnotation) and returns it.
func service(cmd *cobra.Command) *cobra.Command {
	if cmd.Annotations == nil {
		cmd.Annotations = map[string]string{}
	}
	cmd.Annotations[serviceAnnotation] = "true"
	return cmd
}

// stoppedCleanly reports whether err is only a role's way of saying a
// signal stopped it: a deploy's SIGTERM while a worker still registers its
// schemas is a stop like any other, not a failure to report.
func stoppedCleanly(ctx context.Context, cmd *cobra.Command, err error) bool {
	return cmd != nil && cmd.Annotations[serviceAnnotation] != "" &&
		ctx.Err() != nil && errors.Is(err, context.Canceled)
}
