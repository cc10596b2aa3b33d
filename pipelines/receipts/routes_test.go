package receipts_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rationhq/ration/api"
	"github.com/rationhq/ration/api/apitest"
	"github.com/rationhq/ration/pipeline/pipelinetest"
	"github.com/rationhq/ration/pipelines/receipts"
	"github.com/rationhq/ration/schemas"
)

const samples = "../../docs/receipts"

func readSample(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(samples, path))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func newCluster(t *testing.T) *pipelinetest.APICluster {
	return pipelinetest.NewAPICluster(t, receipts.New())
}

func decode(t *testing.T, b []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
}

// eventually retries a request until it answers want, within the 5 s a
// type change may take to reach every API process.
func eventually(t *testing.T, what string, do func() int, want int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		got := do()
		if got == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %d after 5 s, want %d", what, got, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestTypesAtRunTime: a type put on one API process is in force on
// another within 5 s, changed and deleted too; a broken one is refused
// with its reasons; only admins change types.
func TestTypesAtRunTime(t *testing.T) {
	c := newCluster(t)
	admin := c.Key(t, "admin", schemas.ScopeAdmin)
	a, b := c.Node(t).As(admin), c.Node(t).As(admin)
	shop := c.Node(t).As(c.Key(t, "shop", schemas.ScopeWrite))
	retail := readSample(t, "types/retail.json")
	sample := readSample(t, "samples/retail.json")
	submit := func(caller apitest.Caller) func() int {
		return func() int {
			st, _, _ := caller.Do(t, http.MethodPost, "/v1/receipts", "application/json", bytes.NewReader(sample))
			return st
		}
	}
	if st := submit(shop)(); st != http.StatusUnprocessableEntity {
		t.Fatalf("a receipt of a type not put yet: %d, want 422", st)
	}
	if st, _, _ := shop.Do(t, http.MethodPut, "/v1/receipt-types/retail", "application/json", bytes.NewReader(retail)); st != http.StatusForbidden {
		t.Fatalf("a write key put a type: %d", st)
	}
	st, _, body := a.Do(t, http.MethodPut, "/v1/receipt-types/retail", "application/json", bytes.NewReader(retail))
	if st != http.StatusCreated {
		t.Fatalf("put: %d %s", st, body)
	}
	eventually(t, "retail on the other process", func() int {
		st, _, _ := b.Do(t, http.MethodGet, "/v1/receipt-types/retail", "", nil)
		return st
	}, http.StatusOK)

	broken := `{"schema": {"type": 12}, "rules": {"a": "receipt.total >"}}`
	st, ct, body := a.Do(t, http.MethodPut, "/v1/receipt-types/retail", "application/json", strings.NewReader(broken))
	var e struct {
		Error   string       `json:"error"`
		Reasons []api.Reason `json:"reasons"`
	}
	decode(t, body, &e)
	if st != http.StatusUnprocessableEntity || ct != "application/json" || len(e.Reasons) != 2 {
		t.Fatalf("a broken type: %d %s", st, body)
	}

	// A change: the total must be positive and below 1.
	changed := strings.Replace(string(retail), `"rules": {`, `"rules": {"small": "receipt.total < 1.0",`, 1)
	if st, _, body := a.Do(t, http.MethodPut, "/v1/receipt-types/retail", "application/json", strings.NewReader(changed)); st != http.StatusOK {
		t.Fatalf("change: %d %s", st, body)
	}
	eventually(t, "the changed rule on the other process", func() int {
		st, _, _ := b.As(admin).Do(t, http.MethodPost, "/v1/receipts", "application/json", bytes.NewReader(sample))
		return st
	}, http.StatusUnprocessableEntity)

	if st, _, _ := b.Do(t, http.MethodDelete, "/v1/receipt-types/retail", "", nil); st != http.StatusNoContent {
		t.Fatalf("delete: %d", st)
	}
	eventually(t, "the type gone from the first process", func() int {
		st, _, _ := a.Do(t, http.MethodGet, "/v1/receipt-types/retail", "", nil)
		return st
	}, http.StatusNotFound)
}

// TestSubmit: a valid receipt is 202 and then found; the same again is 200
// with its status, on any API process; another body under its id 409;
// another client's receipt is not found; bad input is a 4xx and reaches
// no topic.
func TestSubmit(t *testing.T) {
	c := newCluster(t)
	admin := c.Key(t, "admin", schemas.ScopeAdmin)
	a, b := c.Node(t), c.Node(t)
	for _, name := range []string{"retail", "fuel"} {
		if st, _, body := a.As(admin).Do(t, http.MethodPut, "/v1/receipt-types/"+name, "application/json",
			bytes.NewReader(readSample(t, "types/"+name+".json"))); st != http.StatusCreated {
			t.Fatalf("put %s: %d %s", name, st, body)
		}
	}
	shopKey, otherKey := c.Key(t, "shop", schemas.ScopeWrite), c.Key(t, "other", schemas.ScopeWrite)
	shopA, shopB, other := a.As(shopKey), b.As(shopKey), b.As(otherKey)
	eventually(t, "types on the second process", func() int {
		st, _, _ := shopB.Do(t, http.MethodGet, "/v1/receipt-types/fuel", "", nil)
		return st
	}, http.StatusOK)

	before := c.EndOffsets(t)[receipts.TopicReceived]
	for _, bad := range []struct {
		ct, body string
		status   int
	}{
		{"text/plain", "x", http.StatusUnsupportedMediaType},
		{"application/json", `{"type": "retail"`, http.StatusBadRequest},
		{"application/xml", `<!DOCTYPE x><receipt type="retail" id="1"/>`, http.StatusBadRequest},
		{"application/json", `{"type": "bakery", "receipt_id": "1"}`, http.StatusUnprocessableEntity},
		{"application/json", strings.Replace(string(readSample(t, "samples/retail.json")), `"receipt_id": "R-2026-000001"`, `"receipt_id": ""`, 1), http.StatusUnprocessableEntity},
		{"application/json", `{"type": "retail", "receipt_id": "x", "x": "` + strings.Repeat("a", receipts.MaxBody) + `"}`, http.StatusRequestEntityTooLarge},
	} {
		st, ct, body := shopA.Do(t, http.MethodPost, "/v1/receipts", bad.ct, strings.NewReader(bad.body))
		apitest.WantError(t, st, ct, body, bad.status, "")
	}
	if after := c.EndOffsets(t)[receipts.TopicReceived]; after != before {
		t.Fatalf("bad input reached %s: %d records", receipts.TopicReceived, after-before)
	}

	for _, file := range []string{"samples/retail.json", "samples/fuel.xml"} {
		doc := readSample(t, file)
		ct := "application/json"
		if strings.HasSuffix(file, ".xml") {
			ct = "application/xml"
		}
		st, _, body := shopA.Do(t, http.MethodPost, "/v1/receipts", ct, bytes.NewReader(doc))
		var got struct{ ID, Status string }
		decode(t, body, &got)
		if st != http.StatusAccepted || !strings.HasPrefix(got.ID, "shop:") || got.Status != "RECEIVED" {
			t.Fatalf("%s: %d %s", file, st, body)
		}
		// Found at once, on the process that took it.
		if st, _, body := shopA.Do(t, http.MethodGet, "/v1/receipts/"+got.ID, "", nil); st != http.StatusOK || !strings.Contains(string(body), `"RECEIVED"`) {
			t.Fatalf("get %s: %d %s", got.ID, st, body)
		}
		// The same again, on the other process: 200 once it has seen it.
		eventually(t, "the repeat on the other process", func() int {
			st, _, _ := shopB.Do(t, http.MethodPost, "/v1/receipts", ct, bytes.NewReader(doc))
			return st
		}, http.StatusOK)
		changed := bytes.Replace(doc, []byte("Coffee"), []byte("Tea"), 1)
		changed = bytes.Replace(changed, []byte("Milk 1l"), []byte("Milk 2l"), 1)
		if st, _, body := shopB.Do(t, http.MethodPost, "/v1/receipts", ct, bytes.NewReader(changed)); st != http.StatusConflict {
			t.Fatalf("another body under %s: %d %s", got.ID, st, body)
		}
		// Another client neither finds it nor collides with it.
		if st, _, _ := other.Do(t, http.MethodGet, "/v1/receipts/"+got.ID, "", nil); st != http.StatusNotFound {
			t.Fatalf("another client read %s: %d", got.ID, st)
		}
		if st, _, body := other.Do(t, http.MethodPost, "/v1/receipts", ct, bytes.NewReader(changed)); st != http.StatusAccepted {
			t.Fatalf("another client's receipt with the same id: %d %s", st, body)
		}
	}
	if n := c.EndOffsets(t)[receipts.TopicReceived] - before; n != 4 {
		t.Fatalf("%d receipts on %s, want 4 (two clients' two)", n, receipts.TopicReceived)
	}
}

// TestFoundAtOnceOnAnyProcess: a receipt is found by a GET on another API
// process right after its POST was answered on the first, whether or not
// the second's index has read it yet (it catches up before it answers
// that it knows no such receipt); an id sent nowhere is still not found.
func TestFoundAtOnceOnAnyProcess(t *testing.T) {
	c := newCluster(t)
	admin := c.Key(t, "admin", schemas.ScopeAdmin)
	a, b := c.Node(t), c.Node(t)
	if st, _, body := a.As(admin).Do(t, http.MethodPut, "/v1/receipt-types/retail", "application/json",
		bytes.NewReader(readSample(t, "types/retail.json"))); st != http.StatusCreated {
		t.Fatalf("put retail: %d %s", st, body)
	}
	shop := c.Key(t, "shop", schemas.ScopeWrite)
	shopA, shopB := a.As(shop), b.As(shop)
	eventually(t, "retail on the second process", func() int {
		st, _, _ := shopB.Do(t, http.MethodGet, "/v1/receipt-types/retail", "", nil)
		return st
	}, http.StatusOK)
	sample := string(readSample(t, "samples/retail.json"))
	for i := range 50 {
		doc := strings.Replace(sample, `"receipt_id": "R-2026-000001"`, fmt.Sprintf(`"receipt_id": "R-%03d"`, i), 1)
		st, _, body := shopA.Do(t, http.MethodPost, "/v1/receipts", "application/json", strings.NewReader(doc))
		var got struct{ ID string }
		decode(t, body, &got)
		if st != http.StatusAccepted {
			t.Fatalf("post %d: %d %s", i, st, body)
		}
		if st, _, body := shopB.Do(t, http.MethodGet, "/v1/receipts/"+got.ID, "", nil); st != http.StatusOK || !strings.Contains(string(body), `"RECEIVED"`) {
			t.Fatalf("get %s on the other process right after its POST: %d %s", got.ID, st, body)
		}
	}
	// Without ClickHouse here, an id in no index cannot be told apart
	// from one stored long ago: 503, after the index caught up.
	if st, _, body := shopB.Do(t, http.MethodGet, "/v1/receipts/shop:never-sent", "", nil); st != http.StatusServiceUnavailable {
		t.Fatalf("an id sent nowhere: %d %s", st, body)
	}
}
