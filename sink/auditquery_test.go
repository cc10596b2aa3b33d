package sink

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/rationhq/ration"
	"github.com/rationhq/ration/internal/chserver/chtest"
	"github.com/rationhq/ration/schemas"
)

func TestAuditReader(t *testing.T) {
	codec := testCodec(t)
	db := newDB(t)
	r := openReader(t, chtest.Shared(t).Addr(), db)
	base := time.UnixMilli(1_750_000_000_000).UTC()
	var recs []*kgo.Record
	for _, a := range []schemas.Audit{
		{Client: "ci", Method: "POST", Route: "POST /v1/dm/checks", Status: 202, Time: base},
		{Client: "dash", Method: "POST", Route: "POST /v1/dm/checks", Status: 403, Time: base.Add(time.Second)},
		{Client: "admin", Method: "DELETE", Route: "DELETE /v1/clients/{name}", Target: "dash", Status: 200, Time: base.Add(2 * time.Second)},
	} {
		b, err := codec.Encode(&a)
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, &kgo.Record{Topic: schemas.TopicAudit, Value: b})
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
		{"since", ration.AuditQuery{Since: base.Add(time.Second), Limit: 10}, []string{"admin", "dash"}},
		{"limit", ration.AuditQuery{Limit: 1}, []string{"admin"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := r.Audit(ctx, tc.q)
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, e := range got {
				names = append(names, e.Client)
			}
			if len(names) != len(tc.want) {
				t.Fatalf("got %v, want %v", names, tc.want)
			}
			for i := range names {
				if names[i] != tc.want[i] {
					t.Fatalf("got %v, want %v", names, tc.want)
				}
			}
		})
	}
	got, err := r.Audit(ctx, ration.AuditQuery{Client: "admin", Limit: 1})
	if err != nil {
		t.Fatal(err)
	}
	want := ration.AuditEntry{Client: "admin", Method: "DELETE", Route: "DELETE /v1/clients/{name}", Target: "dash",
		Status: 200, Time: ration.Timestamp{Time: base.Add(2 * time.Second)}}
	if len(got) != 1 || got[0] != want {
		t.Fatalf("got %+v, want %+v", got, want)
	}
}
