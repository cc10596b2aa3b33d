package broker

import (
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"
)

// kcat returns kcat's path. librdkafka is the other client family that
// people point at ration (kcat, Kafka UI's peers), so CI must have it.
func kcat(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("kcat")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("kcat is required in CI: %v", err)
		}
		t.Skipf("kcat not installed: %v", err)
	}
	return path
}

// runKcat runs kcat with stdin and returns its stdout.
func runKcat(t *testing.T, path, stdin string, args ...string) string {
	t.Helper()
	cmd := exec.CommandContext(testCtx(t), path, args...)
	cmd.Stdin = strings.NewReader(stdin)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("kcat %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return string(out)
}

// kcatAuth are the options that log kcat in as the broker's admin.
func kcatAuth(b *Broker) []string {
	return kcatSASL(b.Admin().User, b.Admin().Password)
}

// kcatSASL are the options that log kcat in with SCRAM-SHA-512.
func kcatSASL(user, pass string) []string {
	return []string{"-X", "security.protocol=SASL_PLAINTEXT", "-X", "sasl.mechanisms=SCRAM-SHA-512",
		"-X", "sasl.username=" + user, "-X", "sasl.password=" + pass}
}

func TestKcatReadsMetadata(t *testing.T) {
	path := kcat(t)
	b := start(t, testConfig())
	createTopic(t, newClient(t, b), "kcat-meta", 3)

	out := runKcat(t, path, "", append(kcatAuth(b), "-b", b.KafkaAddr(), "-L", "-t", "kcat-meta")...)
	for _, want := range []string{
		"1 brokers:",
		"at " + b.KafkaAddr(),
		`topic "kcat-meta" with 3 partitions`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("kcat -L output lacks %q:\n%s", want, out)
		}
	}
}

func TestKcatConsumesAndProduces(t *testing.T) {
	path := kcat(t)
	b := start(t, testConfig())
	cl := newClient(t, b, kgo.DefaultProduceTopic("kcat-data"))
	createTopic(t, cl, "kcat-data", 1)
	produce(t, cl, &kgo.Record{Key: []byte("from"), Value: []byte("franz-go")})

	out := runKcat(t, path, "", append(kcatAuth(b), "-b", b.KafkaAddr(), "-C", "-t", "kcat-data", "-o", "beginning", "-e", "-q", "-f", `%k=%s\n`)...)
	if strings.TrimSpace(out) != "from=franz-go" {
		t.Fatalf("kcat consumed %q, want from=franz-go", out)
	}

	runKcat(t, path, "by=kcat\n", append(kcatAuth(b), "-b", b.KafkaAddr(), "-P", "-t", "kcat-data", "-K", "=")...)
	recs := consumeAll(t, b, "kcat-data", 2)
	if got := string(recs[1].Key) + "=" + string(recs[1].Value); got != "by=kcat" {
		t.Fatalf("franz-go read %q from kcat, want by=kcat", got)
	}
}
