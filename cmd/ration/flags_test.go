package main

import (
	"strings"
	"testing"

	"github.com/rationhq/ration/internal/cliconfig"
)

// TestDurationFlagsTakeSeconds: every command's duration flags take whole
// seconds as well as Go durations.
func TestDurationFlagsTakeSeconds(t *testing.T) {
	for _, tc := range []struct {
		cmd  []string
		args []string
		flag string
		want string
	}{
		{[]string{"reprocess"}, []string{"--reprocess.schedule", "86400"}, "reprocess.schedule", "24h0m0s"},
		{[]string{"api"}, []string{"--reprocess.elapse=21600"}, "reprocess.elapse", "6h0m0s"},
		{[]string{"dev"}, []string{"--reprocess.elapse", "6h"}, "reprocess.elapse", "6h0m0s"},
		{[]string{"sink"}, []string{"--flush-interval", "2"}, "flush-interval", "2s"},
		{[]string{"worker", "dm"}, []string{"--session-timeout", "15"}, "session-timeout", "15s"},
		{[]string{"worker", "dm"}, []string{"--retry-delays", "1,10,60"}, "retry-delays", "[1s,10s,1m0s]"},
		{[]string{"clients", "audit"}, []string{"--since", "3600"}, "since", "1h0m0s"},
	} {
		cmd, _, err := newRootCmd().Find(tc.cmd)
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.ParseFlags(tc.args); err != nil {
			t.Errorf("%v %v: %v", tc.cmd, tc.args, err)
			continue
		}
		if got := cmd.Flags().Lookup(tc.flag).Value.String(); got != tc.want {
			t.Errorf("%v %v: %s = %s, want %s", tc.cmd, tc.args, tc.flag, got, tc.want)
		}
	}
}

// TestDefaultMetricsAddressMayMove: the roles with a default metrics
// address let it move to a free port when it is busy, unless the operator
// gave it, on the command line or in RATION_METRICS.
func TestDefaultMetricsAddressMayMove(t *testing.T) {
	for _, path := range [][]string{{"worker", "dm"}, {"sink"}, {"broker"}, {"reprocess"}} {
		for _, tc := range []struct {
			name  string
			args  []string
			env   string
			moves bool
		}{
			{"default", nil, "", true},
			{"flag", []string{"--metrics", "127.0.0.1:9999"}, "", false},
			{"environment", nil, "127.0.0.1:9999", false},
		} {
			t.Run(strings.Join(path, " ")+"/"+tc.name, func(t *testing.T) {
				if tc.env != "" {
					t.Setenv("RATION_METRICS", tc.env)
				}
				cmd, _, err := newRootCmd().Find(path)
				if err != nil {
					t.Fatal(err)
				}
				if err := cmd.ParseFlags(tc.args); err != nil {
					t.Fatal(err)
				}
				if err := cliconfig.Apply(cmd.Flags(), ""); err != nil {
					t.Fatal(err)
				}
				if moves := len(metricsOpts(cmd, nil)) > 0; moves != tc.moves {
					t.Fatalf("the metrics address may move: %v, want %v", moves, tc.moves)
				}
			})
		}
	}
}
