package main

import (
	"os"
	"runtime/pprof"

	"github.com/spf13/cobra"
)

// profileCPU starts writing a CPU profile to path, when path is set; stop
// ends it.
func profileCPU(path string) (stop func(), err error) {
	if path == "" {
		return func() {}, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}, nil
}

// profiled makes each of c's subcommands write a CPU profile of its run
// to *path, when set.
func profiled(c *cobra.Command, path *string) {
	for _, sub := range c.Commands() {
		run := sub.RunE
		sub.RunE = func(cmd *cobra.Command, args []string) error {
			stop, err := profileCPU(*path)
			if err != nil {
				return err
			}
			defer stop()
			return run(cmd, args)
		}
	}
}
