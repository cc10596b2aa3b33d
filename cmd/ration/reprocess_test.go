package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"
)

func TestReprocessRunNow(t *testing.T) {
	r := newDMRig(t)
	run := func(args ...string) (string, error) {
		t.Helper()
		root := newRootCmd()
		var out, errOut bytes.Buffer
		root.SetArgs(append([]string{"reprocess", "run", "--api", r.url}, args...))
		root.SetOut(&out)
		root.SetErr(&errOut)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		err := root.ExecuteContext(ctx)
		return out.String(), err
	}
	if _, err := run("--dry-run"); err == nil || !strings.Contains(err.Error(), "--now") {
		t.Fatalf("a run without --now: %v", err)
	}
	out, err := run("--now", "--dry-run", "--pipeline", "dm", "--status", "REPROCESS", "--since", "2h")
	if err != nil {
		t.Fatal(err)
	}
	req := <-r.runs
	if !req.DryRun || req.Pipeline != "dm" || req.Status != "REPROCESS" || time.Since(req.Since) < 2*time.Hour-time.Minute || time.Since(req.Since) > 2*time.Hour+time.Minute {
		t.Fatalf("the API got %+v", req)
	}
	for _, want := range []string{"u1", "resend", "u2", "fail", "3 selected; would do (dry run): 2 re-sent, 1 given up"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	out, err = run("--now", "--since", "2026-01-02T03:04:05Z", "--json")
	if err != nil || !strings.Contains(out, `"resent": 2`) {
		t.Fatalf("--json: %v\n%s", err, out)
	}
	if req := <-r.runs; req.DryRun || !req.Since.Equal(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)) {
		t.Fatalf("the API got %+v", req)
	}
	if _, err := run("--now", "--since", "last week"); err == nil {
		t.Fatal("--since 'last week' accepted")
	}
}
