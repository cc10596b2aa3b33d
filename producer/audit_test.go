package producer

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/rationhq/ration/internal/kafkatest"
	"github.com/rationhq/ration/schemas"
)

// TestAuditWaitsForKafka: Audit returns once the event is in the topic,
// and returns Kafka's refusal, logging the event it lost.
func TestAuditWaitsForKafka(t *testing.T) {
	k := kafkatest.New(t, 1, kafkatest.Setup{})
	var log bytes.Buffer
	a := NewAudit(k.Client, k.Codec, slog.New(slog.NewTextHandler(&log, nil)))
	ev := schemas.Audit{Client: "ci", Method: "POST", Route: "POST /v1/dm/checks", Status: 202, Time: time.UnixMilli(1_700_000_000_000)}
	if err := a.Audit(context.Background(), ev); err != nil {
		t.Fatal(err)
	}
	if recs := k.Records(t, schemas.TopicAudit); len(recs) != 1 || string(recs[0].Key) != "ci" {
		t.Fatalf("audit topic holds %d records once Audit returned, want 1 keyed ci", len(recs))
	}

	failProduce(k, kerr.TopicAuthorizationFailed.Code, false)
	ev.Route = "DELETE /v1/clients/{name}"
	if err := a.Audit(context.Background(), ev); err == nil {
		t.Fatal("an audit event Kafka refused was reported written")
	}
	if l := log.String(); !strings.Contains(l, "level=ERROR") || !strings.Contains(l, "DELETE /v1/clients/{name}") {
		t.Fatalf("the lost event is not in the log: %s", l)
	}

	// An error the client retries: Audit still returns when ctx ends.
	failProduce(k, kerr.NotEnoughReplicas.Code, true)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	if err := a.Audit(ctx, ev); err == nil {
		t.Fatal("an audit event Kafka kept refusing was reported written")
	}
	if took := time.Since(start); took > time.Second {
		t.Fatalf("Audit returned %v after a 200ms deadline", took)
	}
}

// failProduce answers the next produce request (every one, with keep) on
// k with code for each partition.
func failProduce(k *kafkatest.Kafka, code int16, keep bool) {
	k.Cluster.ControlKey(int16(kmsg.Produce), func(kreq kmsg.Request) (kmsg.Response, error, bool) {
		if keep {
			k.Cluster.KeepControl()
		}
		req := kreq.(*kmsg.ProduceRequest)
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
		return resp, nil, true
	})
}
