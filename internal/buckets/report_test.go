package buckets

import (
	"testing"
	"time"

	"github.com/rationhq/ration"
)

func TestReport(t *testing.T) {
	t0 := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	stage := func(pipeline, name, group string, buckets ...bucketState) stageState {
		return stageState{Stage: Stage{Pipeline: pipeline, Name: name, Group: group}, members: []string{"w-0"}, buckets: buckets}
	}
	bucket := func(p int32, position, end int64, waiting *waitingRecord) bucketState {
		return bucketState{tp: tp{"in", p}, owner: "w-0", position: position, end: end, waiting: waiting}
	}
	waiting := func(offset int64, age time.Duration) *waitingRecord {
		return &waitingRecord{offset: offset, at: t0.Add(10*time.Second - age)}
	}
	prev := &snapshot{at: t0, stages: []stageState{stage("dm", "check", "g", bucket(0, 10, 50, waiting(10, 5*time.Second)), bucket(1, 20, 20, nil))}}

	for _, tc := range []struct {
		name string
		cur  *snapshot
		prev *snapshot
		want func(t *testing.T, r ration.BucketsReport)
	}{
		{
			name: "lag counts from the first waiting record and rates from the committed offsets",
			cur: &snapshot{at: t0.Add(10 * time.Second), stages: []stageState{stage("dm", "check", "g",
				// 10 records committed in 10 s; offset 30 is a marker, the first record waiting is 31.
				bucket(0, 30, 60, waiting(31, 4*time.Second)),
				// 20 committed; nothing waits.
				bucket(1, 40, 40, nil))}},
			prev: prev,
			want: func(t *testing.T, r ration.BucketsReport) {
				s := r.Pipelines[0].Stages[0]
				if r.RateIntervalSeconds != 10 || s.Lag != 29 || s.RecordsPerSecond != 4 || s.OldestWaitingSeconds != 4 {
					t.Fatalf("interval %v, stage %+v", r.RateIntervalSeconds, s)
				}
				if s.DrainSeconds == nil || *s.DrainSeconds != 7.25 {
					t.Fatalf("drain %v, want 29/4", s.DrainSeconds)
				}
				b0, b1 := s.Buckets[0], s.Buckets[1]
				if b0.Lag != 29 || b0.RecordsPerSecond != 2 || *b0.DrainSeconds != 14.5 || b0.OldestWaitingSeconds != 4 {
					t.Fatalf("bucket 0 %+v", b0)
				}
				if b1.Lag != 0 || b1.RecordsPerSecond != 2 || *b1.DrainSeconds != 0 || b1.OldestWaitingSeconds != 0 {
					t.Fatalf("bucket 1 %+v", b1)
				}
			},
		},
		{
			name: "no progress with records waiting has no drain time",
			cur:  &snapshot{at: t0.Add(10 * time.Second), stages: []stageState{stage("dm", "check", "g", bucket(0, 10, 50, waiting(10, 15*time.Second)))}},
			prev: prev,
			want: func(t *testing.T, r ration.BucketsReport) {
				s := r.Pipelines[0].Stages[0]
				if s.RecordsPerSecond != 0 || s.DrainSeconds != nil || s.Buckets[0].DrainSeconds != nil || s.OldestWaitingSeconds != 15 {
					t.Fatalf("stage %+v", s)
				}
			},
		},
		{
			name: "the first sample has no rates",
			cur:  prev,
			want: func(t *testing.T, r ration.BucketsReport) {
				s := r.Pipelines[0].Stages[0]
				if r.RateIntervalSeconds != 0 || s.RecordsPerSecond != 0 || s.DrainSeconds != nil || s.Lag != 40 {
					t.Fatalf("interval %v, stage %+v", r.RateIntervalSeconds, s)
				}
			},
		},
		{
			name: "offsets moved back are no progress, and a clock ahead is no age",
			cur: &snapshot{at: t0.Add(10 * time.Second), stages: []stageState{stage("dm", "check", "g",
				bucket(0, 0, 50, &waitingRecord{offset: 0, at: t0.Add(time.Hour)}))}},
			prev: prev,
			want: func(t *testing.T, r ration.BucketsReport) {
				s := r.Pipelines[0].Stages[0]
				if s.RecordsPerSecond != 0 || s.OldestWaitingSeconds != 0 || s.Lag != 50 {
					t.Fatalf("stage %+v", s)
				}
			},
		},
		{
			name: "stages group by pipeline in the order given, and rates follow each group",
			cur: &snapshot{at: t0.Add(10 * time.Second), stages: []stageState{
				stage("dm", "check", "g", bucket(0, 20, 20, nil)),
				stage("points", "award", "h", bucket(0, 20, 20, nil)),
				stage("dm", "notify", "i", bucket(0, 20, 20, nil)),
			}},
			prev: prev,
			want: func(t *testing.T, r ration.BucketsReport) {
				if len(r.Pipelines) != 2 || r.Pipelines[0].Name != "dm" || r.Pipelines[1].Name != "points" {
					t.Fatalf("pipelines %+v", r.Pipelines)
				}
				dm := r.Pipelines[0].Stages
				if len(dm) != 2 || dm[0].Name != "check" || dm[1].Name != "notify" {
					t.Fatalf("dm stages %+v", dm)
				}
				// Group g moved from 10 to 20; groups h and i had no earlier sample.
				if dm[0].RecordsPerSecond != 1 || dm[1].RecordsPerSecond != 0 || r.Pipelines[1].Stages[0].RecordsPerSecond != 0 {
					t.Fatalf("rates %v %v %v", dm[0].RecordsPerSecond, dm[1].RecordsPerSecond, r.Pipelines[1].Stages[0].RecordsPerSecond)
				}
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) { tc.want(t, report(tc.cur, tc.prev)) })
	}
}
