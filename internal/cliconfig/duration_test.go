package cliconfig

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
)

type durations struct {
	Schedule, Elapse, Timeout time.Duration
	Delays                    []time.Duration
}

// durationFlags binds d: two flags by DurationVar, and a plain pflag
// duration and duration list that AcceptSeconds then converts.
func durationFlags(d *durations) *pflag.FlagSet {
	fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
	DurationVar(fs, &d.Schedule, "reprocess.schedule", 24*time.Hour, "time between runs")
	DurationVar(fs, &d.Elapse, "reprocess.elapse", 6*time.Hour, "time until stuck")
	fs.DurationVar(&d.Timeout, "timeout", 0, "a timeout")
	fs.DurationSliceVar(&d.Delays, "retry-delays", []time.Duration{time.Second}, "delays")
	AcceptSeconds(fs)
	return fs
}

func TestDurationsTakeSecondsOrGoDurations(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want durations
	}{
		{"defaults", nil, durations{Schedule: 24 * time.Hour, Elapse: 6 * time.Hour, Delays: []time.Duration{time.Second}}},
		{"seconds", []string{"--reprocess.schedule", "86400", "--reprocess.elapse=21600", "--timeout", "90", "--retry-delays", "1,10,60"},
			durations{Schedule: 24 * time.Hour, Elapse: 6 * time.Hour, Timeout: 90 * time.Second, Delays: []time.Duration{time.Second, 10 * time.Second, time.Minute}}},
		{"go durations", []string{"--reprocess.schedule", "12h", "--reprocess.elapse=90m", "--timeout", "1m30s", "--retry-delays", "500ms,2s"},
			durations{Schedule: 12 * time.Hour, Elapse: 90 * time.Minute, Timeout: 90 * time.Second, Delays: []time.Duration{500 * time.Millisecond, 2 * time.Second}}},
		{"both in a list", []string{"--retry-delays", "500ms,2"},
			durations{Schedule: 24 * time.Hour, Elapse: 6 * time.Hour, Delays: []time.Duration{500 * time.Millisecond, 2 * time.Second}}},
		{"zero", []string{"--reprocess.elapse", "0"}, durations{Schedule: 24 * time.Hour, Delays: []time.Duration{time.Second}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var d durations
			if err := durationFlags(&d).Parse(tc.args); err != nil {
				t.Fatal(err)
			}
			if d.Schedule != tc.want.Schedule || d.Elapse != tc.want.Elapse || d.Timeout != tc.want.Timeout || !slices.Equal(d.Delays, tc.want.Delays) {
				t.Fatalf("got %+v, want %+v", d, tc.want)
			}
		})
	}
}

func TestDurationsRefuseNonsense(t *testing.T) {
	for _, v := range []string{"86400x", "1.5", "one day", "", "9223372037", "--5"} {
		var d durations
		if err := durationFlags(&d).Parse([]string{"--reprocess.schedule=" + v}); err == nil {
			t.Errorf("%q accepted as %v", v, d.Schedule)
		}
	}
	var d durations
	if err := durationFlags(&d).Parse([]string{"--retry-delays=1,x"}); err == nil {
		t.Errorf("a list with %q accepted as %v", "x", d.Delays)
	}
}

func TestDurationSecondsFromEnvAndFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ration.yaml")
	yaml := "reprocess:\n  schedule: 86400\n  elapse: 6h\ntimeout: 45\nretry-delays: [1, 10s]\n"
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	var d durations
	fs := durationFlags(&d)
	if err := fs.Parse(nil); err != nil {
		t.Fatal(err)
	}
	if err := Apply(fs, path); err != nil {
		t.Fatal(err)
	}
	want := durations{Schedule: 24 * time.Hour, Elapse: 6 * time.Hour, Timeout: 45 * time.Second, Delays: []time.Duration{time.Second, 10 * time.Second}}
	if d.Schedule != want.Schedule || d.Elapse != want.Elapse || d.Timeout != want.Timeout || !slices.Equal(d.Delays, want.Delays) {
		t.Fatalf("from the file: %+v, want %+v", d, want)
	}

	t.Setenv("RATION_REPROCESS_ELAPSE", "21600")
	t.Setenv("RATION_TIMEOUT", "2m")
	d = durations{}
	fs = durationFlags(&d)
	if err := fs.Parse(nil); err != nil {
		t.Fatal(err)
	}
	if err := Apply(fs, ""); err != nil {
		t.Fatal(err)
	}
	if d.Elapse != 6*time.Hour || d.Timeout != 2*time.Minute {
		t.Fatalf("from the environment: elapse %v, timeout %v; want 6h and 2m", d.Elapse, d.Timeout)
	}
}

// TestDurationHelpUnchanged: a converted flag shows as a duration with its
// default as before, and a zero default not at all.
func TestDurationHelpUnchanged(t *testing.T) {
	var d durations
	help := durationFlags(&d).FlagUsages()
	for _, want := range []string{
		"--reprocess.schedule duration   time between runs (default 24h0m0s)",
		"--retry-delays durationSlice    delays (default [1s])",
	} {
		if !strings.Contains(help, want) {
			t.Errorf("help lacks %q:\n%s", want, help)
		}
	}
	if line := lineOf(help, "--timeout"); strings.Contains(line, "default") {
		t.Errorf("a zero default shows: %q", line)
	}
}

func lineOf(s, sub string) string {
	for l := range strings.SplitSeq(s, "\n") {
		if strings.Contains(l, sub) {
			return l
		}
	}
	return ""
}
