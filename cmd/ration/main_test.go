package main

import (
	"context"
	"errors"
	"testing"
)

// TestSignalStopsRolesCleanly: a role told to stop while it still starts
// (here: a worker whose Kafka never answers) ends cleanly; a people's
// command stopped before it finished has failed.
func TestSignalStopsRolesCleanly(t *testing.T) {
	for _, tc := range []struct {
		args  []string
		clean bool
	}{
		{[]string{"worker", "dm", "--kafka", "127.0.0.1:1", "--registry", "http://127.0.0.1:1", "--metrics", ""}, true},
		{[]string{"sink", "--kafka", "127.0.0.1:1", "--registry", "http://127.0.0.1:1", "--metrics", ""}, true},
		{[]string{"dm", "status", "u1", "--api", "http://127.0.0.1:1", "--key", "k"}, false},
	} {
		t.Run(tc.args[0], func(t *testing.T) {
			ctx, stop := context.WithCancel(context.Background())
			stop() // the signal, before the command got anywhere
			root := newRootCmd()
			root.SetArgs(tc.args)
			cmd, err := root.ExecuteContextC(ctx)
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("%v: err %v, want one caused by the stop", tc.args, err)
			}
			if got := stoppedCleanly(ctx, cmd, err); got != tc.clean {
				t.Fatalf("%v: stopped cleanly %v, want %v (err %v)", tc.args, got, tc.clean, err)
			}
		})
	}
}
