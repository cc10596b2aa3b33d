package sink

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/rationhq/ration"
	"github.com/rationhq/ration/schemas"
)

// TestAuditReader: the audit log comes back newest first, selected by
// client and time, each entry once though its batch was stored twice.
func TestAuditReader(t *testing.T) {
	r, db := newReader(t)
	codec := newCodec(t)
	g := newGen(t, codec)
	var recs []*kgo.Record
	for _, a := range []schemas.Audit{
		{Client: "ci", Method: "POST", Route: "POST /v1/t/things", Status: 202, Time: g.at(0)},
		{Client: "dash", Method: "POST", Route: "POST /v1/t/things", Status: 403, Time: g.at(1)},
		{Client: "admin", Method: "DELETE", Route: "DELETE /v1/clients/{name}", Target: "dash", Status: 200, Time: g.at(2)},
	} {
		recs = append(recs, g.rec(schemas.TopicAudit, a.Client, &a))
	}
	store(t, r.Conn(), db, codec, recs)
	store(t, r.Conn(), db, codec, recs) // a replayed batch: same offsets

	ctx := context.Background()
	for _, tc := range []struct {
		name string
		q    ration.AuditQuery
		want []string
	}{
		{"all, newest first", ration.AuditQuery{Limit: 10}, []string{"admin", "dash", "ci"}},
		{"one client", ration.AuditQuery{Client: "dash", Limit: 10}, []string{"dash"}},
		{"an unknown client", ration.AuditQuery{Client: "nobody", Limit: 10}, nil},
		{"since", ration.AuditQuery{Since: g.at(1), Limit: 10}, []string{"admin", "dash"}},
		{"since before 1970", ration.AuditQuery{Since: time.Unix(-10, 0), Limit: 10}, []string{"admin", "dash", "ci"}},
		{"limit", ration.AuditQuery{Limit: 1}, []string{"admin"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := r.Audit(ctx, tc.q)
			if err != nil {
				t.Fatal(err)
			}
			var clients []string
			for _, e := range got {
				clients = append(clients, e.Client)
			}
			if !reflect.DeepEqual(clients, tc.want) {
				t.Fatalf("got %v, want %v", clients, tc.want)
			}
		})
	}
	t.Run("an entry keeps its fields", func(t *testing.T) {
		got, err := r.Audit(ctx, ration.AuditQuery{Client: "admin", Limit: 1})
		if err != nil {
			t.Fatal(err)
		}
		want := []ration.AuditEntry{{Client: "admin", Method: "DELETE", Route: "DELETE /v1/clients/{name}", Target: "dash",
			Status: 200, Time: ration.Timestamp{Time: g.at(2)}}}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("got %+v, want %+v", got, want)
		}
	})
	t.Run("a limit below 1 is refused", func(t *testing.T) {
		if _, err := r.Audit(ctx, ration.AuditQuery{}); err == nil {
			t.Fatal("accepted")
		}
	})
}
