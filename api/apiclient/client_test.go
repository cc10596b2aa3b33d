package apiclient_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/rationhq/ration"
	"github.com/rationhq/ration/api"
	"github.com/rationhq/ration/api/apiclient"
	"github.com/rationhq/ration/api/apitest"
	"github.com/rationhq/ration/auth"
	"github.com/rationhq/ration/pipeline/pipelinetest"
	"github.com/rationhq/ration/pipelines/dm"
)

// newClient returns an admin client of a server with the DM pipeline's
// routes (reads from the returned reader, writes to the returned Kafka)
// and the dead letters of fakeDead.
func newClient(t *testing.T) (*apiclient.Client, *apitest.Kafka, *apitest.Reader) {
	t.Helper()
	k := apitest.NewKafka(t, pipelinetest.Setup(dm.New()))
	reader := apitest.NewReader()
	reg := apitest.FollowClients(t, k)
	cfg := api.Defaults()
	routes := dm.RoutesWith(api.Backends{Kafka: k.Client, Codec: k.Codec, History: reader, Config: cfg}, reader)
	srv, err := api.New(cfg, api.Deps{Routes: routes, Clients: reg, ClientStore: auth.NewStore(reg, k.Client, k.Codec),
		DeadLetters: fakeDeadLetters()})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	key := apitest.AddKey(t, k, reg, "admin", "admin")
	return apiclient.New(hs.URL+"/", hs.Client()).WithKey(key), k, reader
}

func TestClientManagement(t *testing.T) {
	c, _, _ := newClient(t)
	ctx := context.Background()
	created, err := c.AddAPIClient(ctx, "ci", "read")
	if err != nil {
		t.Fatal(err)
	}
	if created.Name != "ci" || created.Scope != "read" || created.Key == "" {
		t.Fatalf("created %+v", created)
	}
	ci := c.WithKey(created.Key)
	if _, err := ci.Stats(ctx); err != nil {
		t.Fatalf("the new key cannot read: %v", err)
	}
	var apiErr *apiclient.Error
	if _, err := ci.Mark(ctx, []string{"u"}, ""); !errors.As(err, &apiErr) || apiErr.Status != http.StatusForbidden {
		t.Fatalf("a read key marked: %v", err)
	}
	if _, err := c.AddWorker(ctx, "w1", "dmcheck"); !errors.As(err, &apiErr) || apiErr.Status != http.StatusNotImplemented {
		t.Fatalf("worker without a provisioner: %v", err)
	}
	list, err := c.Clients(ctx)
	if err != nil || len(list) != 2 || list[1].Name != "ci" {
		t.Fatalf("list %+v, %v", list, err)
	}
	if _, err := c.RevokeClient(ctx, "ci"); err != nil {
		t.Fatal(err)
	}
	if _, err := ci.Stats(ctx); !errors.As(err, &apiErr) || apiErr.Status != http.StatusUnauthorized {
		t.Fatalf("a revoked key read: %v", err)
	}
	if _, err := c.Audit(ctx, "", time.Time{}, 10); !errors.As(err, &apiErr) || apiErr.Status != http.StatusServiceUnavailable {
		t.Fatalf("audit without a reader: %v", err)
	}
}

func TestWrites(t *testing.T) {
	c, k, _ := newClient(t)
	ctx := context.Background()
	if n, err := c.RegisterUsers(ctx, []string{"a", "b", "a"}); err != nil || n != 2 {
		t.Fatalf("register: %d, %v", n, err)
	}
	if n, err := c.Mark(ctx, []string{"a"}, "high"); err != nil || n != 1 {
		t.Fatalf("mark high: %d, %v", n, err)
	}
	if n, err := c.Mark(ctx, []string{"b", "c"}, ""); err != nil || n != 2 {
		t.Fatalf("mark: %d, %v", n, err)
	}
	offs := k.EndOffsets(t)
	if offs[dm.TopicUsers] != 2 || offs[dm.TopicChecksHigh] != 1 || offs[dm.TopicChecks] != 2 {
		t.Fatalf("records per topic %v", offs)
	}
}

func TestErrorsCarryServerMessage(t *testing.T) {
	c, _, _ := newClient(t)
	ctx := context.Background()
	for name, call := range map[string]func() error{
		"bad id":       func() error { _, err := c.RegisterUsers(ctx, []string{"no spaces"}); return err },
		"bad priority": func() error { _, err := c.Mark(ctx, []string{"a"}, "urgent"); return err },
		"no ids":       func() error { _, err := c.Mark(ctx, nil, ""); return err },
		"bad state":    func() error { _, err := c.Users(ctx, "done", "", 0); return err },
		"bad cursor":   func() error { _, err := c.Users(ctx, ration.DMPending, "zzz", 0); return err },
	} {
		var e *apiclient.Error
		if err := call(); !errors.As(err, &e) || e.Status != http.StatusBadRequest || e.Message == "" {
			t.Errorf("%s: %v, want a 400 *apiclient.Error with a message", name, err)
		}
	}
	_, err := c.User(ctx, "nobody")
	var e *apiclient.Error
	if !errors.As(err, &e) || e.Status != http.StatusNotFound || e.Message != `user "nobody" not found` {
		t.Fatalf("unknown user: %#v", err)
	}
}

func TestReads(t *testing.T) {
	c, _, reader := newClient(t)
	ctx := context.Background()
	at := time.Date(2025, 5, 6, 7, 8, 9, 123_000_000, time.UTC)
	yes := true
	reader.Put(
		ration.DMUser{UserID: "a", State: ration.DMChecked, MarkedAt: ration.NewTimestamp(at), OpenDM: &yes, Attempts: 1},
		ration.DMUser{UserID: "b", State: ration.DMChecked},
		ration.DMUser{UserID: "c", State: ration.DMChecked},
	)
	reader.SetStats(ration.DMStats{Checked: 3})
	u, err := c.User(ctx, "a")
	if err != nil || !u.MarkedAt.Equal(at) || u.OpenDM == nil || !*u.OpenDM || u.CheckedAt != nil {
		t.Fatalf("user: %+v, %v", u, err)
	}
	p, err := c.Users(ctx, ration.DMChecked, "", 2)
	if err != nil || len(p.Users) != 2 || p.Next == "" {
		t.Fatalf("page 1: %+v, %v", p, err)
	}
	p, err = c.Users(ctx, ration.DMChecked, p.Next, 2)
	if err != nil || len(p.Users) != 1 || p.Users[0].UserID != "c" || p.Next != "" {
		t.Fatalf("page 2: %+v, %v", p, err)
	}
	if s, err := c.Stats(ctx); err != nil || s.Checked != 3 {
		t.Fatalf("stats: %+v, %v", s, err)
	}
	reader.PutEvents(ration.ItemEvent{ItemID: "a", Pipeline: dm.Name, Stage: dm.StageCheck, Status: "SUCCESS", Attempt: 1,
		Time: ration.Timestamp{Time: at}})
	events, err := c.History(ctx, "a", "")
	if err != nil || len(events) != 1 || events[0].Status != "SUCCESS" || !events[0].Time.Equal(at) {
		t.Fatalf("history: %+v, %v", events, err)
	}
}

// fakeDead is one stage's dead letters: List answers one letter whose key
// names the stage and whose partition is the limit asked for; a replay or
// purge says there were n letters, n telling the stages apart.
type fakeDead struct {
	key ration.DeadLetterKey
	n   int
}

// fakeDeadLetters are dm's as the server is given them: stage check's
// dead letters and parked items, then stage state's dead letters.
func fakeDeadLetters() []api.DeadLetterSet {
	var sets []api.DeadLetterSet
	for _, k := range []ration.DeadLetterKey{
		{Pipeline: dm.Name, Stage: dm.StageCheck},
		{Pipeline: dm.Name, Stage: dm.StageCheck, Parked: true},
		{Pipeline: dm.Name, Stage: dm.ViewState},
	} {
		sets = append(sets, api.DeadLetterSet{Key: k, Letters: &fakeDead{key: k, n: len(sets) + 1}})
	}
	return sets
}

func (f *fakeDead) name() string {
	if f.key.Parked {
		return f.key.Pipeline + "/" + f.key.Stage + "/parked"
	}
	return f.key.Pipeline + "/" + f.key.Stage
}

func (f *fakeDead) List(_ context.Context, limit int) ([]ration.DeadLetter, error) {
	return []ration.DeadLetter{{Key: f.name(), Partition: int32(limit)}}, nil
}

func (f *fakeDead) Replay(_ context.Context, dryRun bool) (ration.DeadLetterOutcome, error) {
	return ration.DeadLetterOutcome{Letters: f.n, Replayed: f.n, DryRun: dryRun}, nil
}

func (f *fakeDead) Purge(_ context.Context, dryRun bool) (ration.DeadLetterOutcome, error) {
	return ration.DeadLetterOutcome{Letters: f.n, Purged: f.n, DryRun: dryRun}, nil
}

func TestDeadLettersByStage(t *testing.T) {
	c, _, _ := newClient(t)
	ctx := context.Background()
	for _, tc := range []struct {
		key   ration.DeadLetterKey
		limit int
		want  string
	}{
		{ration.DeadLetterKey{}, 0, "dm/check"},
		{ration.DeadLetterKey{Parked: true}, 7, "dm/check/parked"},
		{ration.DeadLetterKey{Pipeline: dm.Name, Stage: dm.ViewState}, 3, "dm/state"},
	} {
		letters, err := c.DeadLetters(ctx, tc.key, tc.limit)
		wantLimit := int32(tc.limit)
		if tc.limit == 0 {
			wantLimit = 100 // the server's default
		}
		if err != nil || len(letters) != 1 || letters[0].Key != tc.want || letters[0].Partition != wantLimit {
			t.Fatalf("DeadLetters(%+v, %d): %+v, %v; want %s's, %d of them", tc.key, tc.limit, letters, err, tc.want, wantLimit)
		}
	}
	if out, err := c.ReplayDeadLetters(ctx, ration.DeadLetterKey{Pipeline: dm.Name, Stage: dm.StageCheck, Parked: true}, true); err != nil ||
		out.Replayed != 2 || !out.DryRun {
		t.Fatalf("replay: %+v, %v; want check's parked items (2) replayed dry", out, err)
	}
	if out, err := c.PurgeDeadLetters(ctx, ration.DeadLetterKey{Stage: dm.ViewState}, false); err != nil || out.Purged != 3 || out.DryRun {
		t.Fatalf("purge: %+v, %v; want state's dead letters (3) purged", out, err)
	}
	var e *apiclient.Error
	if _, err := c.PurgeDeadLetters(ctx, ration.DeadLetterKey{Stage: dm.ViewState, Parked: true}, false); !errors.As(err, &e) ||
		e.Status != http.StatusBadRequest {
		t.Fatalf("purge of a view's parked items: %v, want 400", err)
	}
}

func TestNonJSONErrorUsesStatusText(t *testing.T) {
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "<html>bad gateway</html>", http.StatusBadGateway)
	}))
	defer hs.Close()
	_, err := apiclient.New(hs.URL, nil).Stats(context.Background())
	var e *apiclient.Error
	if !errors.As(err, &e) || e.Status != http.StatusBadGateway || e.Message != "Bad Gateway" {
		t.Fatalf("%#v", err)
	}
}
