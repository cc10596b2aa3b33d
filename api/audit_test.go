package api

import (
	"context"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/rationhq/ration/api/apitest"
	"github.com/rationhq/ration/schemas"
)

// auditRecords returns the audit topic's records as "client route target
// status".
func auditRecords(t *testing.T, r *rig) []string {
	t.Helper()
	var got []string
	for _, rec := range r.Records(t, schemas.TopicAudit) {
		var a schemas.Audit
		if err := r.Codec.Decode(rec.Value, &a); err != nil {
			t.Fatal(err)
		}
		got = append(got, a.Client+" "+a.Route+" "+a.Target+" "+itoa(a.Status))
	}
	return got
}

// onAuditProduce runs fn on every produce request that writes to the
// audit topic; fn answers it (handled) or lets the broker do so.
func onAuditProduce(t *testing.T, r *rig, fn func(*kmsg.ProduceRequest) (kmsg.Response, bool)) {
	t.Helper()
	// Produce v13 names topics by id.
	topics, err := kadm.NewClient(r.Client).ListTopics(context.Background(), schemas.TopicAudit)
	if err != nil {
		t.Fatal(err)
	}
	id := topics[schemas.TopicAudit].ID
	c := r.Cluster
	c.ControlKey(int16(kmsg.Produce), func(kreq kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		req := kreq.(*kmsg.ProduceRequest)
		for _, rt := range req.Topics {
			if rt.Topic == schemas.TopicAudit || rt.TopicID == id {
				resp, handled := fn(req)
				return resp, nil, handled
			}
		}
		return nil, nil, false
	})
}

// produceFailing answers req with code for every partition it writes.
func produceFailing(req *kmsg.ProduceRequest, code int16) kmsg.Response {
	resp := req.ResponseKind().(*kmsg.ProduceResponse)
	for _, rt := range req.Topics {
		st := kmsg.NewProduceResponseTopic()
		st.Topic, st.TopicID = rt.Topic, rt.TopicID
		for _, rp := range rt.Partitions {
			sp := kmsg.NewProduceResponseTopicPartition()
			sp.Partition, sp.ErrorCode = rp.Partition, code
			st.Partitions = append(st.Partitions, sp)
		}
		resp.Topics = append(resp.Topics, st)
	}
	return resp
}

// TestAuditRecordedBeforeTheAnswer: an audited request is answered only
// once its audit record is in Kafka, even when Kafka is slow to take it.
func TestAuditRecordedBeforeTheAnswer(t *testing.T) {
	r := newRig(t, nil)
	write := r.as(r.addKey(t, "ci", schemas.ScopeWrite))
	var slowed atomic.Int32
	onAuditProduce(t, r, func(*kmsg.ProduceRequest) (kmsg.Response, bool) {
		slowed.Add(1)
		r.Cluster.SleepControl(func() { time.Sleep(300 * time.Millisecond) })
		return nil, false
	})
	status, body := write.PostJSON(t, "/v1/toy/items", map[string]any{"ids": []string{"u1", "u2"}})
	if status != http.StatusAccepted || strings.TrimSpace(string(body)) != `{"accepted":2}` {
		t.Fatalf("write: %d %s", status, body)
	}
	if got := auditRecords(t, r); len(got) != 1 || got[0] != "ci POST /v1/toy/items  202" {
		t.Fatalf("audit topic when the answer came: %q, want the write's record", got)
	}
	if slowed.Load() == 0 {
		t.Fatal("no audit produce was slowed: the check means nothing")
	}
}

// TestUnauditedRequestIs503: when the audit record cannot be written, the
// client hears 503 with the usual error body, not the handler's answer,
// and the failure is logged at ERROR.
func TestUnauditedRequestIs503(t *testing.T) {
	for _, tc := range []struct {
		name string
		code int16
	}{
		// franz-go gives up on this one at once.
		{"refused", kerr.TopicAuthorizationFailed.Code},
		// This one it retries until the backend timeout.
		{"unavailable", kerr.NotEnoughReplicas.Code},
	} {
		t.Run(tc.name, func(t *testing.T) {
			const backend = 500 * time.Millisecond
			r := newRig(t, func(c *Config) { c.BackendTimeout = backend })
			write := r.as(r.addKey(t, "ci", schemas.ScopeWrite))
			onAuditProduce(t, r, func(req *kmsg.ProduceRequest) (kmsg.Response, bool) {
				return produceFailing(req, tc.code), true
			})

			start := time.Now()
			b := strings.NewReader(`{"ids": ["u1"]}`)
			status, ct, body := write.Do(t, http.MethodPost, "/v1/toy/items", "application/json", b)
			took := time.Since(start)
			apitest.WantError(t, status, ct, body, http.StatusServiceUnavailable, "could not be audited")
			if !strings.Contains(string(body), "may have been carried out") || strings.Contains(string(body), "accepted") {
				t.Fatalf("body %s, want one saying the request may have been carried out", body)
			}
			if took > 2*backend+time.Second {
				t.Fatalf("answered after %v with a backend timeout of %v", took, backend)
			}
			// An admin read is audited too.
			status, ct, body = r.Do(t, http.MethodGet, "/v1/clients", "", nil)
			apitest.WantError(t, status, ct, body, http.StatusServiceUnavailable, "could not be audited")

			logs := r.logs.String()
			if !strings.Contains(logs, "level=ERROR") || !strings.Contains(logs, "could not be audited") {
				t.Fatalf("no ERROR line about the audit:\n%s", logs)
			}
			_, _, metrics := r.Do(t, http.MethodGet, "/metrics", "", nil)
			if m := string(metrics); !strings.Contains(m, `ration_api_request_duration_seconds_count{code="503",route="POST /v1/toy/items"} 1`) ||
				strings.Contains(m, `code="202"`) || strings.Contains(m, `code="200",route="GET /v1/clients"`) {
				t.Fatalf("metrics do not say 503 only:\n%s", metricLines(m, "ration_api_request_duration_seconds_count"))
			}
		})
	}
}

func metricLines(text, prefix string) string {
	var out []string
	for l := range strings.SplitSeq(text, "\n") {
		if strings.HasPrefix(l, prefix) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
