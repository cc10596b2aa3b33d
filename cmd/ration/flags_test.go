package main

import (
	"testing"
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
		{[]string{"worker", "dmcheck"}, []string{"--session-timeout", "15"}, "session-timeout", "15s"},
		{[]string{"worker", "dmcheck"}, []string{"--retry-delays", "1,10,60"}, "retry-delays", "[1s,10s,1m0s]"},
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
