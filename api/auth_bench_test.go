package api

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/rationhq/ration/auth"
	"github.com/rationhq/ration/schemas"
)

// BenchmarkAuth measures what authentication adds to a request: GET
// /v1/pipelines (a canned report) with 10 000 registered clients, against
// the same request on a server without a registry. Besides ns/op it
// reports each request's p50 and p99.
//
//	go test -run x -bench Auth ./api
func BenchmarkAuth(b *testing.B) {
	reg := auth.NewRegistry()
	keys := make([]string, 10_000)
	for i := range keys {
		key, d, err := auth.NewKey()
		if err != nil {
			b.Fatal(err)
		}
		keys[i] = key
		reg.Apply(schemas.Client{Name: fmt.Sprintf("c%05d", i), Kind: schemas.ClientAPI, Scope: schemas.ScopeRead, KeyHash: d.String()})
	}
	cfg := Defaults()
	cfg.RateLimit, cfg.RateBurst = 1e9, 1e9
	for _, tc := range []struct {
		name    string
		clients Authenticator
	}{{"baseline-no-auth", nil}, {"10000-clients", reg}} {
		b.Run(tc.name, func(b *testing.B) {
			srv, err := New(cfg, Deps{Buckets: &stubBuckets{}, Clients: tc.clients})
			if err != nil {
				b.Fatal(err)
			}
			h := srv.Handler()
			reqs := make([]*http.Request, 256)
			for i := range reqs {
				reqs[i] = httptest.NewRequest(http.MethodGet, "/v1/pipelines", nil)
				reqs[i].Header.Set("Authorization", "Bearer "+keys[(i*37)%len(keys)])
			}
			b.ReportAllocs()
			lat := make([]time.Duration, 0, 1<<16)
			i := 0
			for b.Loop() {
				rec := httptest.NewRecorder()
				start := time.Now()
				h.ServeHTTP(rec, reqs[i%len(reqs)])
				lat = append(lat, time.Since(start))
				if rec.Code != http.StatusOK {
					b.Fatalf("%d %s", rec.Code, rec.Body)
				}
				i++
			}
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)/2].Nanoseconds()), "p50-ns")
			b.ReportMetric(float64(lat[len(lat)*99/100].Nanoseconds()), "p99-ns")
		})
	}
}
