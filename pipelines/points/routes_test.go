package points_test

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/rationhq/ration"
	"github.com/rationhq/ration/pipeline/pipelinetest"
	"github.com/rationhq/ration/pipelines/points"
	"github.com/rationhq/ration/schemas"
)

// startLedger runs a ledger worker until the test ends.
func startLedger(t *testing.T, c *pipelinetest.APICluster) {
	t.Helper()
	pipelinetest.StartWorker(t, points.New(), nil, c.Addrs(), c.Codec, "ledger-test")
}

func decode[V any](t *testing.T, b []byte) V {
	t.Helper()
	var v V
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	return v
}

// TestTwoAPIProcessesAndALateLedger: a user created on one API process
// logs in on another and that token works on the first (they share the
// secret); a command the ledger does not decide within the API's wait is
// a 202 with where to poll, and sent again once a ledger runs it is
// decided once — the same group either way.
func TestTwoAPIProcessesAndALateLedger(t *testing.T) {
	t.Setenv(points.SecretEnv, "a secret the two API processes share, 32+ bytes")
	c := pipelinetest.NewAPICluster(t, points.New())
	a, b := c.Node(t), c.Node(t)
	admin := c.Key(t, "signup", schemas.ScopeAdmin)

	status, body := a.As(admin).PostJSON(t, "/v1/points/users", ration.PointsNewUser{Name: "alice", Password: "pw-of-alice", Region: "R3"})
	if status != http.StatusCreated {
		t.Fatalf("create: %d %s", status, body)
	}
	user := decode[struct {
		UserID string `json:"user_id"`
	}](t, body).UserID
	status, body = b.PostJSON(t, "/v1/points/login", ration.PointsLogin{UserID: user, Password: "pw-of-alice"})
	if status != http.StatusOK {
		t.Fatalf("login on the other process: %d %s", status, body)
	}
	token := decode[ration.PointsSession](t, body).Token

	create := ration.PointsNewGroup{Name: "flat", Location: "Oslo", CommandID: "g1"}
	start := time.Now()
	status, body = a.As(token).PostJSON(t, "/v1/points/groups", create)
	pending := decode[ration.PointsOutcome](t, body)
	if status != http.StatusAccepted || pending.Outcome != ration.PointsPending || pending.Poll != "/v1/points/groups/"+pending.GroupID+"/commands/g1" {
		t.Fatalf("no ledger: %d %s, want 202 pending with a poll URL", status, body)
	}
	if waited := time.Since(start); waited < points.OutcomeWait {
		t.Fatalf("answered pending after %v, before the API's wait of %v", waited, points.OutcomeWait)
	}

	startLedger(t, c)
	// Sent again until decided, as a client would: each try waits up to
	// the API's 2 s while the ledger joins its group.
	for deadline := time.Now().Add(30 * time.Second); ; {
		status, body = a.As(token).PostJSON(t, "/v1/points/groups", create)
		if status != http.StatusAccepted || time.Now().After(deadline) {
			break
		}
	}
	got := decode[ration.PointsOutcome](t, body)
	if status != http.StatusCreated || got.Outcome != ration.PointsApplied || got.GroupID != pending.GroupID || got.Seq != 1 {
		t.Fatalf("sent again with a ledger: %d %s, want group %s created once", status, body, pending.GroupID)
	}
}
