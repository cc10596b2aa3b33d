package broker

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// post registers schema under subject through the raw HTTP API and returns
// the status and body.
func post(t *testing.T, b *Broker, subject, schema string) (int, string) {
	t.Helper()
	body, err := json.Marshal(map[string]string{"schema": schema})
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequestWithContext(testCtx(t), http.MethodPost, b.RegistryURL()+"/subjects/"+subject+"/versions", strings.NewReader(string(body)))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/vnd.schemaregistry.v1+json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", subject, err)
	}
	defer resp.Body.Close()
	got, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(got)
}

// journal returns the schema journal as it is now.
func journal(t *testing.T, b *Broker) []journalValue {
	t.Helper()
	recs, err := readJournal(testCtx(t), b.KafkaConn().Opts(nil))
	if err != nil {
		t.Fatalf("read journal: %v", err)
	}
	var out []journalValue
	for _, r := range recs {
		var v journalValue
		if err := json.Unmarshal(r.Value, &v); err != nil {
			t.Fatalf("journal record %d: %v", r.Offset, err)
		}
		out = append(out, v)
	}
	return out
}

func TestRegistrationIsJournaledBeforeTheAnswer(t *testing.T) {
	b := start(t, testConfig())
	status, body := post(t, b, "durable-value", schemaA)
	if status != http.StatusOK {
		t.Fatalf("register: %d %s", status, body)
	}
	var answer struct{ ID int }
	if err := json.Unmarshal([]byte(body), &answer); err != nil {
		t.Fatal(err)
	}
	// No waiting: the record must already be in the log.
	got := journal(t, b)
	if len(got) != 1 {
		t.Fatalf("journal has %d records right after the answer, want 1: %+v", len(got), got)
	}
	if v := got[0]; v.Subject != "durable-value" || v.Version != 1 || v.ID != answer.ID || v.Schema != schemaA || v.SchemaType.String() != "AVRO" {
		t.Fatalf("journal record %+v, want durable-value v1 id %d", v, answer.ID)
	}

	// Registering the same schema again answers the same id and writes
	// nothing.
	if status, body := post(t, b, "durable-value", schemaA); status != http.StatusOK || !strings.Contains(body, `"id":`) {
		t.Fatalf("re-register: %d %s", status, body)
	}
	if got := journal(t, b); len(got) != 1 {
		t.Fatalf("journal has %d records after re-registering, want 1", len(got))
	}
}

func TestSchemasTopicIsCompactedSinglePartition(t *testing.T) {
	b := start(t, testConfig())
	adm := kadm.NewClient(newClient(t, b))
	td, err := adm.ListTopics(testCtx(t), SchemasTopic)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(td[SchemasTopic].Partitions); n != 1 {
		t.Fatalf("%s has %d partitions, want 1", SchemasTopic, n)
	}
	rc, err := adm.DescribeTopicConfigs(testCtx(t), SchemasTopic)
	if err != nil {
		t.Fatal(err)
	}
	c, err := rc.On(SchemasTopic, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, kv := range c.Configs {
		if kv.Key == "cleanup.policy" {
			if kv.MaybeValue() != "compact" {
				t.Fatalf("cleanup.policy %q, want compact", kv.MaybeValue())
			}
			return
		}
	}
	t.Fatal("no cleanup.policy on " + SchemasTopic)
}

func TestFailedJournalWriteAnswersAnErrorAndIsRetried(t *testing.T) {
	cfg := testConfig()
	cfg.DataDir = t.TempDir()
	b := start(t, cfg)

	// Fail the next produce to the journal with an error franz-go does
	// not retry.
	b.Cluster().ControlKey(int16(kmsg.Produce), func(kreq kmsg.Request) (kmsg.Response, error, bool) {
		req := kreq.(*kmsg.ProduceRequest)
		resp := req.ResponseKind().(*kmsg.ProduceResponse)
		for _, rt := range req.Topics {
			st := kmsg.NewProduceResponseTopic()
			st.Topic = rt.Topic
			st.TopicID = rt.TopicID
			for _, rp := range rt.Partitions {
				sp := kmsg.NewProduceResponseTopicPartition()
				sp.Partition = rp.Partition
				sp.ErrorCode = kerr.TopicAuthorizationFailed.Code
				st.Partitions = append(st.Partitions, sp)
			}
			resp.Topics = append(resp.Topics, st)
		}
		return resp, nil, true
	})
	if status, body := post(t, b, "flaky-value", schemaB); status != http.StatusInternalServerError || !strings.Contains(body, "50001") {
		t.Fatalf("register with a failing journal: %d %s, want 500 with error_code 50001", status, body)
	}
	if got := journal(t, b); len(got) != 0 {
		t.Fatalf("journal has %+v after a failed write", got)
	}

	// The retry journals the registration srfake already made.
	status, body := post(t, b, "flaky-value", schemaB)
	if status != http.StatusOK {
		t.Fatalf("retry: %d %s", status, body)
	}
	got := journal(t, b)
	if len(got) != 1 || got[0].Subject != "flaky-value" {
		t.Fatalf("journal after retry: %+v", got)
	}

	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	b2 := start(t, cfg)
	ss, err := newRegistryClient(t, b2).SchemaByID(testCtx(t), got[0].ID)
	if err != nil || ss.Schema != schemaB {
		t.Fatalf("schema %d after restart: %+v %v", got[0].ID, ss, err)
	}
}

func TestRegistryRefusesDeletes(t *testing.T) {
	b := start(t, testConfig())
	ss := register(t, newRegistryClient(t, b), "keep-value", schemaA)
	for _, path := range []string{
		"/subjects/keep-value",
		"/subjects/keep-value?permanent=true",
		"/subjects/keep-value/versions/1",
		"/contexts/.x/subjects/keep-value",
	} {
		req, err := http.NewRequestWithContext(testCtx(t), http.MethodDelete, b.RegistryURL()+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusMethodNotAllowed {
			t.Errorf("DELETE %s: %d, want 405", path, resp.StatusCode)
		}
	}
	got, err := newRegistryClient(t, b).SchemaByID(testCtx(t), ss.ID)
	if err != nil || got.Schema != schemaA {
		t.Fatalf("schema %d after refused deletes: %+v %v", ss.ID, got, err)
	}
}

func TestRegistryErrorsComeFromSrfake(t *testing.T) {
	b := start(t, testConfig())
	status, body := post(t, b, "bad-value", "{not json")
	if status != http.StatusUnprocessableEntity || !strings.Contains(body, "error_code") {
		t.Fatalf("invalid schema: %d %s, want 422 with an error_code", status, body)
	}
	if got := journal(t, b); len(got) != 0 {
		t.Fatalf("journal has %+v after a rejected schema", got)
	}
}
