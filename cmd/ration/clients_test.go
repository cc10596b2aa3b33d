package main

import (
	"bytes"
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/rationhq/ration/api"
	"github.com/rationhq/ration/api/apitest"
	"github.com/rationhq/ration/auth"
	"github.com/rationhq/ration/pipelines/dm"
)

// clientsRig is an authenticating API server and its admin key.
type clientsRig struct {
	url, adminKey string
}

func newClientsRig(t *testing.T) *clientsRig {
	t.Helper()
	k := apitest.NewKafka(t)
	reg := apitest.FollowClients(t, k)
	routes := dm.RoutesWith(api.Backends{Kafka: k.Client, Codec: k.Codec, Config: api.Defaults()}, apitest.NewReader())
	srv, err := api.New(api.Defaults(), api.Deps{Routes: routes, Clients: reg, ClientStore: auth.NewStore(reg, k.Client, k.Codec)})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	return &clientsRig{url: hs.URL, adminKey: apitest.AddKey(t, k, reg, "admin", "admin")}
}

func runCLI(t *testing.T, args ...string) (string, error) {
	t.Helper()
	root := newRootCmd()
	var out, errOut bytes.Buffer
	root.SetArgs(args)
	root.SetOut(&out)
	root.SetErr(&errOut)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := root.ExecuteContext(ctx)
	return out.String(), err
}

func TestClientsCommands(t *testing.T) {
	r := newClientsRig(t)
	t.Setenv("RATION_API_KEY", r.adminKey)
	out, err := runCLI(t, "clients", "--api", r.url, "add", "dashboard", "--scope", "read")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	key := lines[len(lines)-1]
	if !auth.WellFormed(key) {
		t.Fatalf("add printed %q", out)
	}

	// The new key reads through `ration dm` (--key wins over the env)...
	if _, err := runCLI(t, "dm", "--api", r.url, "--key", key, "stats"); err != nil {
		t.Fatalf("dm stats with a read key: %v", err)
	}
	// ... but cannot write.
	if _, err := runCLI(t, "dm", "--api", r.url, "--key", key, "mark", "u1"); err == nil || !strings.Contains(err.Error(), "403") {
		t.Fatalf("dm mark with a read key: %v", err)
	}

	out, err = runCLI(t, "clients", "--api", r.url, "list")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "dashboard") || strings.Contains(out, key) {
		t.Fatalf("list printed %q", out)
	}
	if _, err := runCLI(t, "clients", "--api", r.url, "add", "w1", "--worker", "--pipeline", "dm"); err == nil || !strings.Contains(err.Error(), "501") {
		t.Fatalf("worker without a provisioner: %v", err)
	}
	if _, err := runCLI(t, "clients", "--api", r.url, "add", "x"); err == nil {
		t.Fatal("add without --scope accepted")
	}
	if _, err := runCLI(t, "clients", "--api", r.url, "revoke", "dashboard"); err != nil {
		t.Fatal(err)
	}
	if _, err := runCLI(t, "dm", "--api", r.url, "--key", key, "stats"); err == nil || !strings.Contains(err.Error(), "401") {
		t.Fatalf("dm stats with a revoked key: %v", err)
	}
}
