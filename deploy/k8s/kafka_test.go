package k8s

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/rationhq/ration/internal/kafkaacl"
	"github.com/rationhq/ration/pipeline"
	"github.com/rationhq/ration/pipelines"
	"github.com/rationhq/ration/schemas"
)

// The Strimzi resources' fields the checks read.
type (
	kafkaTopic struct {
		Metadata meta `json:"metadata"`
		Spec     struct {
			TopicName  string         `json:"topicName"`
			Partitions int            `json:"partitions"`
			Replicas   int            `json:"replicas"`
			Config     map[string]any `json:"config"`
		} `json:"spec"`
	}
	kafkaUser struct {
		Metadata meta `json:"metadata"`
		Spec     struct {
			Authentication struct {
				Type string `json:"type"`
			} `json:"authentication"`
			Authorization struct {
				Type string `json:"type"`
				ACLs []struct {
					Resource struct {
						Type        string `json:"type"`
						Name        string `json:"name"`
						PatternType string `json:"patternType"`
					} `json:"resource"`
					Operations []string `json:"operations"`
					Type       string   `json:"type"`
					Host       string   `json:"host"`
				} `json:"acls"`
			} `json:"authorization"`
		} `json:"spec"`
	}
	kafka struct {
		Metadata meta `json:"metadata"`
		Spec     struct {
			Kafka struct {
				Config map[string]any `json:"config"`
			} `json:"kafka"`
		} `json:"spec"`
	}
	kafkaNodePool struct {
		Metadata meta `json:"metadata"`
		Spec     struct {
			Replicas int      `json:"replicas"`
			Roles    []string `json:"roles"`
		} `json:"spec"`
	}
)

// checkTopics: the KafkaTopics named ration.* are exactly the topics
// ration's code uses (its pipelines' and the shared ones), each with the
// code's partition count and compaction, and every topic has the
// overlay's replication.
func checkTopics(t *testing.T, b *build, o overlay) {
	partitions := configValue(t, b, "RATION_PARTITIONS")
	type want struct {
		partitions int
		// policy and retention are the topic's cleanup.policy ("" for
		// Kafka's default, delete) and retention.ms ("" for the default).
		policy, retention string
	}
	wants := map[string]want{schemas.TopicClients: {1, "compact", ""}}
	for _, s := range pipeline.AllTopicSpecs(pipelines.All()) {
		n, err := strconv.Atoi(partitions)
		if s.Partitions != 0 {
			n, err = int(s.Partitions), nil
		}
		if err != nil {
			t.Fatalf("RATION_PARTITIONS %q: %v", partitions, err)
		}
		w := want{partitions: n}
		if s.Compact {
			w.policy = "compact"
			if s.Retention > 0 {
				w.policy, w.retention = "compact,delete", strconv.FormatInt(s.Retention.Milliseconds(), 10)
			}
		}
		wants[s.Name] = w
	}
	seen := make(map[string]bool)
	for _, kt := range custom[kafkaTopic](t, b, "KafkaTopic") {
		name := cmp.Or(kt.Spec.TopicName, kt.Metadata.Name)
		if kt.Spec.Replicas != o.topicReplicas {
			t.Errorf("topic %s: replicas %d, want %d", name, kt.Spec.Replicas, o.topicReplicas)
		}
		if isr := intConfig(t, kt.Spec.Config, "min.insync.replicas"); isr != o.minISR {
			t.Errorf("topic %s: min.insync.replicas %d, want %d", name, isr, o.minISR)
		}
		if !strings.HasPrefix(name, "ration.") {
			continue
		}
		w, ok := wants[name]
		if !ok {
			t.Errorf("topic %s: not one of ration's", name)
			continue
		}
		seen[name] = true
		if kt.Spec.Partitions != w.partitions {
			t.Errorf("topic %s: %d partitions, the code's %d", name, kt.Spec.Partitions, w.partitions)
		}
		if policy := fmt.Sprint(cmp.Or(kt.Spec.Config["cleanup.policy"], "")); policy != w.policy {
			t.Errorf("topic %s: cleanup.policy %q, the code's %q", name, policy, w.policy)
		}
		if retention := fmt.Sprint(cmp.Or(kt.Spec.Config["retention.ms"], "")); retention != w.retention {
			t.Errorf("topic %s: retention.ms %q, the code's %q", name, retention, w.retention)
		}
	}
	for name := range wants {
		if !seen[name] {
			t.Errorf("topic %s: the code uses it, no KafkaTopic declares it", name)
		}
	}
}

// checkWorkerACLs: the KafkaUser worker-P holds exactly the ACLs ration
// grants a worker of pipeline P (pipeline.Grants), allowed from any host.
func checkWorkerACLs(t *testing.T, b *build) {
	users := make(map[string]kafkaUser)
	for _, u := range custom[kafkaUser](t, b, "KafkaUser") {
		users[u.Metadata.Name] = u
		if u.Spec.Authentication.Type != "scram-sha-512" {
			t.Errorf("KafkaUser %s: authentication %q, ration speaks scram-sha-512", u.Metadata.Name, u.Spec.Authentication.Type)
		}
	}
	resources := map[kafkaacl.Resource]string{kafkaacl.Topic: "topic", kafkaacl.Group: "group", kafkaacl.TransactionalID: "transactionalId"}
	for name, grants := range pipeline.Grants(pipelines.All()) {
		u, ok := users["worker-"+name]
		if !ok {
			t.Errorf("no KafkaUser worker-%s for pipeline %s", name, name)
			continue
		}
		var want, got []string
		for _, g := range grants {
			pattern := "literal"
			if g.Prefixed {
				pattern = "prefix"
			}
			var ops []string
			for _, op := range g.Ops {
				ops = append(ops, strimziOp(op.String()))
			}
			want = append(want, acl(resources[g.Resource], pattern, g.Name, ops))
		}
		for _, a := range u.Spec.Authorization.ACLs {
			if cmp.Or(a.Type, "allow") != "allow" || cmp.Or(a.Host, "*") != "*" {
				t.Errorf("KafkaUser %s: ACL on %s is %s from %s; ration grants allow from *", u.Metadata.Name, a.Resource.Name, a.Type, a.Host)
			}
			got = append(got, acl(a.Resource.Type, cmp.Or(a.Resource.PatternType, "literal"), a.Resource.Name, a.Operations))
		}
		if extra, missing := diff(got, want), diff(want, got); len(extra)+len(missing) > 0 {
			t.Errorf("KafkaUser worker-%s: ACLs beyond pipeline.Grants %v, missing %v", name, extra, missing)
		}
	}
}

// diff lists the elements of a not in b.
func diff(a, b []string) []string {
	var out []string
	for _, e := range a {
		if !slices.Contains(b, e) {
			out = append(out, e)
		}
	}
	return out
}

// acl is one ACL in a comparable form.
func acl(resource, pattern, name string, ops []string) string {
	ops = slices.Clone(ops)
	slices.Sort(ops)
	return fmt.Sprintf("%s:%s:%s:%s", resource, pattern, name, strings.Join(ops, ","))
}

// strimziOp turns Kafka's name of an ACL operation (IDEMPOTENT_WRITE)
// into Strimzi's (IdempotentWrite).
func strimziOp(op string) string {
	var b strings.Builder
	for _, w := range strings.Split(strings.ToLower(op), "_") {
		b.WriteString(strings.ToUpper(w[:1]) + w[1:])
	}
	return b.String()
}

// checkKafka: the overlay's number of brokers, every Kafka resource of
// the one cluster, and the cluster's own logs (consumer offsets,
// transactions) replicated as the overlay's topics are: more than it has
// brokers and transactions fail.
func checkKafka(t *testing.T, b *build, o overlay) {
	kafkas := custom[kafka](t, b, "Kafka")
	if len(kafkas) != 1 {
		t.Fatalf("%d Kafka clusters, want 1", len(kafkas))
	}
	k := kafkas[0]
	brokers := 0
	for _, p := range custom[kafkaNodePool](t, b, "KafkaNodePool") {
		if slices.Contains(p.Spec.Roles, "broker") {
			brokers += p.Spec.Replicas
		}
	}
	if brokers != o.brokers {
		t.Errorf("%d brokers, want %d", brokers, o.brokers)
	}
	for _, kind := range []string{"KafkaNodePool", "KafkaTopic", "KafkaUser"} {
		for _, m := range custom[struct {
			Metadata meta `json:"metadata"`
		}](t, b, kind) {
			if c := m.Metadata.Labels["strimzi.io/cluster"]; c != k.Metadata.Name {
				t.Errorf("%s %s: label strimzi.io/cluster %q, the cluster is %s", kind, m.Metadata.Name, c, k.Metadata.Name)
			}
		}
	}
	cfg := k.Spec.Kafka.Config
	for _, key := range []string{"default.replication.factor", "offsets.topic.replication.factor", "transaction.state.log.replication.factor"} {
		if n := intConfig(t, cfg, key); n != o.topicReplicas {
			t.Errorf("Kafka %s: %s %d, want %d", k.Metadata.Name, key, n, o.topicReplicas)
		}
	}
	for _, key := range []string{"min.insync.replicas", "transaction.state.log.min.isr"} {
		if n := intConfig(t, cfg, key); n != o.minISR {
			t.Errorf("Kafka %s: %s %d, want %d", k.Metadata.Name, key, n, o.minISR)
		}
	}
	for _, c := range containers(b) {
		for _, e := range c.Env {
			if strings.HasSuffix(e.Name, "_REPLICATION_FACTOR") && e.Value != strconv.Itoa(o.topicReplicas) {
				t.Errorf("container %s: %s=%s, want %d", c.Name, e.Name, e.Value, o.topicReplicas)
			}
		}
	}

}
