package reprocess

import (
	"testing"
	"time"

	"github.com/rationhq/ration"
	"github.com/rationhq/ration/schemas"
)

// TestPlanItems decides, without Kafka, what a run does with each item.
func TestPlanItems(t *testing.T) {
	now := time.UnixMilli(1_750_000_000_000).UTC()
	pipelines := map[string]Pipeline{"dm": {EventsTopic: "ration.dm.events"}, "points": {EventsTopic: "ration.points.events", Holding: []string{"ledger"}}}
	item := func(pipeline, id, stage string, retryCount int, changed time.Time) ration.ItemStatus {
		return ration.ItemStatus{Pipeline: pipeline, ItemID: id, Stage: stage, Status: "REPROCESS", RetryCount: retryCount, Changed: changed}
	}
	states := map[string]*schemas.ReprocessState{
		stateKey("dm", "given-up"): {Pipeline: "dm", ItemID: "given-up", RetryCount: 3, FailedAt: now.Add(-time.Minute)},
		stateKey("dm", "resent"):   {Pipeline: "dm", ItemID: "resent", RetryCount: 2, SentAt: now.Add(-time.Minute)},
		stateKey("dm", "resent-long-ago"): {Pipeline: "dm", ItemID: "resent-long-ago", RetryCount: 2,
			SentAt: now.Add(-7 * time.Hour)},
	}
	for _, tc := range []struct {
		it      ration.ItemStatus
		action  Action
		count   int
		release bool
	}{
		{item("dm", "fresh", "check", 0, now.Add(-time.Hour)), ActionResend, 0, false},
		{item("dm", "at-max", "check", 3, now.Add(-time.Hour)), ActionFail, 3, false},
		{item("points", "cmd-1", "ledger", 3, now.Add(-time.Hour)), ActionFail, 3, true},
		{item("points", "cmd-2", "validate", 3, now.Add(-time.Hour)), ActionFail, 3, false},
		{item("gone", "x", "s", 0, now.Add(-time.Hour)), ActionUnknown, 0, false},
		// ClickHouse has not seen the earlier give-up or re-send yet.
		{item("dm", "given-up", "check", 2, now.Add(-time.Hour)), ActionWait, 3, false},
		{item("dm", "resent", "check", 1, now.Add(-time.Hour)), ActionWait, 2, false},
		// The re-send is older than the elapse time: again, counted on.
		{item("dm", "resent-long-ago", "check", 1, now.Add(-8*time.Hour)), ActionResend, 2, false},
		// ClickHouse has caught up with the re-send (a newer event).
		{item("dm", "resent", "check", 2, now), ActionResend, 2, false},
	} {
		t.Run(tc.it.Pipeline+"/"+tc.it.ItemID, func(t *testing.T) {
			p := planItems([]ration.ItemStatus{tc.it}, states, pipelines, 3, 6*time.Hour, now)[0]
			if p.action != tc.action || p.count != tc.count || p.release != tc.release {
				t.Fatalf("plan %s count %d release %v, want %s %d %v", p.action, p.count, p.release, tc.action, tc.count, tc.release)
			}
		})
	}
}
