// Command ration runs every role of ration (broker, api, worker, sink,
// simulator, reprocessor) and the commands people use against its HTTP API.
// `ration dev` runs all roles in one process on embedded defaults.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := newRootCmd().ExecuteContext(ctx)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "ration:", err)
		os.Exit(1)
	}
}
