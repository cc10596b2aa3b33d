package devstack

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/rationhq/ration"
)

// TestPipelinesShowTheDMBuckets: the dev stack's API shows the DM check
// stage's buckets, each owned by one of the two workers, and drained once
// the marks are checked; the gauges say the same.
func TestPipelinesShowTheDMBuckets(t *testing.T) {
	s := startStack(t, t.TempDir())
	ctx := context.Background()
	var stage ration.StageBuckets
	stageOf := func() (bool, string) {
		r, err := s.api.Pipelines(ctx)
		if err != nil {
			return false, err.Error()
		}
		// DM's check stage, then its state view; then the other pipelines'.
		if len(r.Pipelines) < 2 || r.Pipelines[0].Name != "dm" || len(r.Pipelines[0].Stages) != 2 {
			return false, fmt.Sprintf("%+v", r.Pipelines)
		}
		stage = r.Pipelines[0].Stages[0]
		return true, ""
	}
	// The workers join as the stack starts; the report follows a sample later.
	await(t, time.Minute, "both workers own buckets", func() (bool, string) {
		if ok, why := stageOf(); !ok {
			return false, why
		}
		owners := map[string]int{}
		for _, b := range stage.Buckets {
			owners[b.Owner]++
		}
		return strings.Join(stage.Members, ",") == "dev-0,dev-1" && len(stage.Buckets) == 24 && owners["dev-0"] > 0 &&
			owners["dev-1"] > 0 && owners[""] == 0, fmt.Sprintf("members %v, owners %v", stage.Members, owners)
	})
	if stage.Name != "check" || stage.Group != "ration.dm.check" || stage.Buckets[0].Topic != "ration.dm.checks.high" {
		t.Fatalf("stage %s group %s, first bucket %+v", stage.Name, stage.Group, stage.Buckets[0])
	}
	// A bucket is partition p of both inputs: one owner for both.
	owner := map[int32]string{}
	for _, b := range stage.Buckets {
		if o, ok := owner[b.Partition]; ok && o != b.Owner {
			t.Fatalf("partition %d of the check topics has two owners, %s and %s", b.Partition, o, b.Owner)
		}
		owner[b.Partition] = b.Owner
	}

	users := ids("bucket", 0, 200)
	if _, err := s.api.RegisterUsers(ctx, users); err != nil {
		t.Fatal(err)
	}
	if _, err := s.api.Mark(ctx, users, "normal"); err != nil {
		t.Fatal(err)
	}
	await(t, time.Minute, "the marks checked", func() (bool, string) {
		st, err := s.api.Stats(ctx)
		return err == nil && st.Checked == 200, fmt.Sprintf("%+v %v", st, err)
	})
	await(t, 30*time.Second, "every bucket drained", func() (bool, string) {
		if ok, why := stageOf(); !ok {
			return false, why
		}
		return stage.Lag == 0 && stage.OldestWaitingSeconds == 0, fmt.Sprintf("lag %d oldest %v", stage.Lag, stage.OldestWaitingSeconds)
	})

	resp, err := http.Get(s.addrs.API + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`ration_stage_members{pipeline="dm",stage="check"} 2`,
		`ration_bucket_lag_records{partition="0",pipeline="dm",stage="check",topic="ration.dm.checks"} 0`,
		`ration_bucket_owner_info{owner="dev-`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}
