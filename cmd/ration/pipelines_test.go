package main

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/rationhq/ration"
	"github.com/rationhq/ration/api"
)

// bucketsFunc answers GET /v1/pipelines in the rig: what the CLI asks and
// prints is under test here, not the sampling.
type bucketsFunc func() ration.BucketsReport

func (f bucketsFunc) Buckets(context.Context) (ration.BucketsReport, error) { return f(), nil }

// pipelinesRig is the HTTP API answering GET /v1/pipelines with report.
func pipelinesRig(t *testing.T, report ration.BucketsReport) *dmRig {
	t.Helper()
	srv, err := api.New(api.Defaults(), api.Deps{Buckets: bucketsFunc(func() ration.BucketsReport { return report })})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	return &dmRig{url: hs.URL}
}

func sampleReport() ration.BucketsReport {
	f := func(v float64) *float64 { return &v }
	return ration.BucketsReport{
		SampledAt:           ration.Timestamp{Time: time.Date(2025, 1, 2, 3, 4, 5, 600_000_000, time.UTC)},
		RateIntervalSeconds: 5,
		Pipelines: []ration.PipelineBuckets{{Name: "dm", Stages: []ration.StageBuckets{{
			Name: "check", Group: "ration.dm.check", Members: []string{"dev-0", "dev-1", "dev-2"},
			Lag: 120, RecordsPerSecond: 80, OldestWaitingSeconds: 3.2, DrainSeconds: f(1.5),
			Buckets: []ration.Bucket{
				{Topic: "ration.dm.checks.high", Partition: 0, Owner: "dev-0", Lag: 100, RecordsPerSecond: 80, OldestWaitingSeconds: 3.2, DrainSeconds: f(1.25)},
				{Topic: "ration.dm.checks.high", Partition: 1, Owner: "dev-1", Lag: 20, OldestWaitingSeconds: 61},
				{Topic: "ration.dm.checks", Partition: 0, Owner: "dev-0", DrainSeconds: f(0)},
			},
		}}}},
	}
}

func TestPipelinesTable(t *testing.T) {
	r := pipelinesRig(t, sampleReport())
	out, _, err := r.runCommand(t, "", "pipelines")
	if err != nil {
		t.Fatal(err)
	}
	want := `sampled 2025-01-02T03:04:05.600Z, rates over 5s

dm/check (group ration.dm.check)
  members         dev-0, dev-1, dev-2
  lag             120 records in 2 buckets (3 partitions)
  rate            80 records/s
  oldest waiting  3.2s
  drain           1.5s
  idle            dev-2: every one of the 2 buckets is owned, and a bucket has one worker at a time (more buckets: more parallelism)

  TOPIC                  PARTITION  OWNER  LAG  RATE/S  OLDEST  DRAIN
  ration.dm.checks.high  0          dev-0  100  80      3.2s    1.25s
  ration.dm.checks.high  1          dev-1  20   0       1m1s    stalled
  ration.dm.checks       0          dev-0  0    0       0s      0s
`
	if out != want {
		t.Fatalf("ration pipelines printed:\n%s\nwant:\n%s", out, want)
	}
}

func TestPipelinesBeforeARateIsKnown(t *testing.T) {
	report := sampleReport()
	report.RateIntervalSeconds = 0
	s := &report.Pipelines[0].Stages[0]
	s.Members, s.RecordsPerSecond, s.DrainSeconds = nil, 0, nil
	for i := range s.Buckets {
		s.Buckets[i].Owner, s.Buckets[i].RecordsPerSecond = "", 0
		if s.Buckets[i].Lag > 0 {
			s.Buckets[i].DrainSeconds = nil
		}
	}
	out, _, err := pipelinesRig(t, report).runCommand(t, "", "pipelines")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"no rates yet (one sample so far)",
		"members         none: no worker runs",
		"rate            -\n",
		"drain           unknown\n",
		"ration.dm.checks.high  0          -      100  -       3.2s    unknown\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

func TestPipelinesJSON(t *testing.T) {
	report := sampleReport()
	out, _, err := pipelinesRig(t, report).runCommand(t, "", "pipelines", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var got ration.BucketsReport
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("--json printed %q: %v", out, err)
	}
	got.SampledAt.Time = got.SampledAt.UTC()
	if !reflect.DeepEqual(got, report) {
		t.Fatalf("--json printed\n%+v\nwant\n%+v", got, report)
	}
	if !strings.Contains(out, `"drain_seconds": null`) {
		t.Fatalf("a stalled bucket's drain time is not null:\n%s", out)
	}
}
