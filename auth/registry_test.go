package auth

import (
	"strings"
	"testing"

	"github.com/rationhq/ration/schemas"
)

func apiClient2(name string, scope schemas.Scope, key string) schemas.Client {
	return schemas.Client{Name: name, Kind: schemas.ClientAPI, Scope: scope, KeyHash: HashKey(key).String()}
}

func newKey(t testing.TB) string {
	t.Helper()
	k, _, err := NewKey()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestKeysAreRandomPrefixedAndWellFormed(t *testing.T) {
	a, b := newKey(t), newKey(t)
	if a == b {
		t.Fatal("two keys are equal")
	}
	for _, k := range []string{a, b} {
		if !strings.HasPrefix(k, KeyPrefix) || !WellFormed(k) {
			t.Fatalf("key %q is not well formed", k)
		}
	}
	if WellFormed("rk_short") || WellFormed(strings.Repeat("x", len(a))) {
		t.Fatal("malformed key accepted")
	}
}

func TestAuthenticateFindsActiveClientsOnly(t *testing.T) {
	reg := NewRegistry()
	readKey, adminKey := newKey(t), newKey(t)
	reg.Apply(apiClient2("reader", schemas.ScopeRead, readKey))
	reg.Apply(apiClient2("boss", schemas.ScopeAdmin, adminKey))
	reg.Apply(schemas.Client{Name: "w1", Kind: schemas.ClientWorker, Scope: schemas.ScopeRead})

	if p, ok := reg.Authenticate(readKey); !ok || p != (Principal{"reader", schemas.ScopeRead}) {
		t.Fatalf("read key: %+v %v", p, ok)
	}
	if _, ok := reg.Authenticate(newKey(t)); ok {
		t.Fatal("unknown key authenticated")
	}
	if _, ok := reg.Authenticate(""); ok {
		t.Fatal("empty key authenticated")
	}

	revoked := apiClient2("reader", schemas.ScopeRead, readKey)
	revoked.Revoked = true
	reg.Apply(revoked)
	if _, ok := reg.Authenticate(readKey); ok {
		t.Fatal("revoked key authenticated")
	}
	if c, ok := reg.Client("reader"); !ok || !c.Revoked {
		t.Fatalf("revoked client listed as %+v %v", c, ok)
	}

	reg.Remove("boss")
	if _, ok := reg.Authenticate(adminKey); ok {
		t.Fatal("tombstoned key authenticated")
	}
	if got := len(reg.Clients()); got != 2 {
		t.Fatalf("%d clients, want 2 (reader revoked, w1)", got)
	}
}

func TestAKeyChangeDropsTheOldKey(t *testing.T) {
	reg := NewRegistry()
	old, fresh := newKey(t), newKey(t)
	reg.Apply(apiClient2("c", schemas.ScopeWrite, old))
	reg.Apply(apiClient2("c", schemas.ScopeWrite, fresh))
	if _, ok := reg.Authenticate(old); ok {
		t.Fatal("replaced key still authenticates")
	}
	if _, ok := reg.Authenticate(fresh); !ok {
		t.Fatal("new key refused")
	}
}

func TestScopesInclude(t *testing.T) {
	for _, tc := range []struct {
		have, need schemas.Scope
		want       bool
	}{
		{schemas.ScopeRead, schemas.ScopeRead, true},
		{schemas.ScopeRead, schemas.ScopeWrite, false},
		{schemas.ScopeWrite, schemas.ScopeRead, true},
		{schemas.ScopeWrite, schemas.ScopeAdmin, false},
		{schemas.ScopeAdmin, schemas.ScopeWrite, true},
		{"", schemas.ScopeRead, false},
		{schemas.ScopeAdmin, "", false},
	} {
		if got := Allows(tc.have, tc.need); got != tc.want {
			t.Errorf("Allows(%q, %q) = %v", tc.have, tc.need, got)
		}
	}
}
