package k8s

import (
	"cmp"
	"net"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/rationhq/ration/pipelines"
)

// KEDA's resources' fields the checks read.
type (
	scaledObject struct {
		Metadata meta `json:"metadata"`
		Spec     struct {
			ScaleTargetRef struct {
				APIVersion string `json:"apiVersion"`
				Kind       string `json:"kind"`
				Name       string `json:"name"`
			} `json:"scaleTargetRef"`
			MinReplicaCount *int `json:"minReplicaCount"`
			MaxReplicaCount *int `json:"maxReplicaCount"`
			Triggers        []struct {
				Type              string            `json:"type"`
				Metadata          map[string]string `json:"metadata"`
				AuthenticationRef *struct {
					Name string `json:"name"`
				} `json:"authenticationRef"`
			} `json:"triggers"`
		} `json:"spec"`
	}
	triggerAuthentication struct {
		Metadata meta `json:"metadata"`
		Spec     struct {
			SecretTargetRef []struct {
				Parameter string `json:"parameter"`
				Name      string `json:"name"`
				Key       string `json:"key"`
			} `json:"secretTargetRef"`
			ConfigMapTargetRef []struct {
				Parameter string `json:"parameter"`
				Name      string `json:"name"`
				Key       string `json:"key"`
			} `json:"configMapTargetRef"`
		} `json:"spec"`
	}
)

// checkWorkers: every pipeline has a worker StatefulSet, whose pods pass
// their own name as --instance-id, keep their buckets over a restart,
// log in as the pipeline's Kafka user and leave their replica count to
// KEDA.
func checkWorkers(t *testing.T, b *build) {
	services := make(map[string]*corev1.Service)
	for _, s := range typed[*corev1.Service](b) {
		services[s.Name] = s
	}
	scaled := make(map[string]bool)
	for _, so := range custom[scaledObject](t, b, "ScaledObject") {
		scaled[so.Spec.ScaleTargetRef.Kind+"/"+so.Spec.ScaleTargetRef.Name] = true
	}
	workers := make(map[string]bool)
	for _, s := range typed[*appsv1.StatefulSet](b) {
		c, ok := rationContainer(s.Spec.Template.Spec)
		if !ok || len(c.Args) < 2 || c.Args[0] != "worker" {
			continue
		}
		p := c.Args[1]
		workers[p] = true
		if _, err := pipelines.Find(pipelines.All(), p); err != nil {
			t.Errorf("StatefulSet %s: %v", s.Name, err)
		}
		if src := setting(t, b, c, "instance-id"); src.field != "metadata.name" {
			t.Errorf("StatefulSet %s: --instance-id is %+v, want the pod's metadata.name (downward API)", s.Name, src)
		}
		if src := setting(t, b, c, "leave-on-shutdown"); src.value != "false" {
			t.Errorf("StatefulSet %s: --leave-on-shutdown %q, want false: a rolling restart keeps buckets in place", s.Name, src.value)
		}
		if src := setting(t, b, c, "kafka-user"); src.value != "worker-"+p {
			t.Errorf("StatefulSet %s: --kafka-user %q, want worker-%s", s.Name, src.value, p)
		}
		if src := setting(t, b, c, "kafka-password"); src.secret == nil || src.secret.Name != "worker-"+p || src.secret.Key != "password" {
			t.Errorf("StatefulSet %s: --kafka-password from %+v, want Secret worker-%s key password", s.Name, src, p)
		}
		if s.Spec.Replicas != nil {
			t.Errorf("StatefulSet %s: replicas %d set: applying again would undo KEDA's count", s.Name, *s.Spec.Replicas)
		}
		if !scaled["StatefulSet/"+s.Name] {
			t.Errorf("StatefulSet %s: no ScaledObject", s.Name)
		}
		if svc := services[s.Spec.ServiceName]; svc == nil || svc.Spec.ClusterIP != corev1.ClusterIPNone {
			t.Errorf("StatefulSet %s: serviceName %q is no headless Service of the build", s.Name, s.Spec.ServiceName)
		}
	}
	for _, d := range pipelines.All() {
		if !workers[d.Name] {
			t.Errorf("no StatefulSet runs `ration worker %s`", d.Name)
		}
	}
}

// checkScaling: each ScaledObject scales a worker StatefulSet between 1
// and no more workers than its stages have partitions (12), on the lag of
// a consumer group of one of that worker's stages, on one of the stage's
// inputs, through the Kafka ration's roles use.
func checkScaling(t *testing.T, b *build) {
	partitions := make(map[string]int)
	for _, kt := range custom[kafkaTopic](t, b, "KafkaTopic") {
		partitions[cmp.Or(kt.Spec.TopicName, kt.Metadata.Name)] = kt.Spec.Partitions
	}
	pipelineOf := make(map[string]string)
	for _, s := range typed[*appsv1.StatefulSet](b) {
		if c, ok := rationContainer(s.Spec.Template.Spec); ok && len(c.Args) >= 2 && c.Args[0] == "worker" {
			pipelineOf[s.Name] = c.Args[1]
		}
	}
	auths := make(map[string]bool)
	for _, a := range custom[triggerAuthentication](t, b, "TriggerAuthentication") {
		auths[a.Metadata.Name] = true
	}
	kafkaAddr := configValue(t, b, "RATION_KAFKA")
	for _, so := range custom[scaledObject](t, b, "ScaledObject") {
		name, ref := so.Metadata.Name, so.Spec.ScaleTargetRef
		p, ok := pipelineOf[ref.Name]
		if ref.Kind != "StatefulSet" || cmp.Or(ref.APIVersion, "apps/v1") != "apps/v1" || !ok {
			t.Errorf("ScaledObject %s: scales %s %s, no worker StatefulSet", name, ref.Kind, ref.Name)
			continue
		}
		d, err := pipelines.Find(pipelines.All(), p)
		if err != nil {
			t.Fatal(err)
		}
		// KEDA's defaults: 100 at most, 0 at least.
		maxReplicas, minReplicas := cmp.Or(so.Spec.MaxReplicaCount, ptr(100)), cmp.Or(so.Spec.MinReplicaCount, ptr(0))
		if *maxReplicas > 12 {
			t.Errorf("ScaledObject %s: maxReplicaCount %d, want at most 12 (the partitions)", name, *maxReplicas)
		}
		if *minReplicas < 1 {
			t.Errorf("ScaledObject %s: minReplicaCount %d, want at least 1: ration has no worker to wake on lag", name, *minReplicas)
		}
		for _, tr := range so.Spec.Triggers {
			md := tr.Metadata
			if tr.Type != "kafka" {
				t.Errorf("ScaledObject %s: %s trigger, want kafka (consumer lag)", name, tr.Type)
				continue
			}
			stage := strings.TrimPrefix(md["consumerGroup"], "ration."+p+".")
			s, ok := d.Stage(stage)
			if !ok || md["consumerGroup"] != d.Group(stage) {
				t.Errorf("ScaledObject %s: consumerGroup %q is no stage of pipeline %s", name, md["consumerGroup"], p)
				continue
			}
			if !slices.Contains(s.Inputs, md["topic"]) {
				t.Errorf("ScaledObject %s: topic %q is not an input of stage %s (%v)", name, md["topic"], stage, s.Inputs)
			}
			if n := partitions[md["topic"]]; *maxReplicas > n {
				t.Errorf("ScaledObject %s: maxReplicaCount %d, topic %s has %d partitions", name, *maxReplicas, md["topic"], n)
			}
			if lag, err := strconv.Atoi(md["lagThreshold"]); err != nil || lag < 1 {
				t.Errorf("ScaledObject %s: lagThreshold %q", name, md["lagThreshold"])
			}
			if md["bootstrapServers"] != kafkaAddr {
				t.Errorf("ScaledObject %s: bootstrapServers %q, ration's roles use %q", name, md["bootstrapServers"], kafkaAddr)
			}
			if md["sasl"] != "scram_sha512" || tr.AuthenticationRef == nil || !auths[tr.AuthenticationRef.Name] {
				t.Errorf("ScaledObject %s: want sasl scram_sha512 and a TriggerAuthentication of the build", name)
			}
		}
	}
}

// checkProbes: every ration container that serves HTTP (the API on
// --http, the others /metrics and /healthz on --metrics) listens beyond
// the pod and is probed on /healthz at that port; its roles that run for
// good have a liveness probe there too.
func checkProbes(t *testing.T, b *build) {
	for _, w := range workloads(b) {
		for _, c := range w.spec.Containers {
			if !strings.HasPrefix(c.Image, "ration:") {
				continue
			}
			if c.Image != "ration:latest" {
				t.Errorf("%s: image %s, want ration:latest", w.name, c.Image)
			}
			if len(c.Args) == 0 {
				t.Errorf("%s: no role in args", w.name)
				continue
			}
			flag := "metrics"
			if role := c.Args[0]; role == "api" || role == "sim" {
				flag = "http"
			}
			addr := setting(t, b, c, flag).value
			host, port, err := net.SplitHostPort(addr)
			if err != nil || (host != "0.0.0.0" && host != "" && host != "::") {
				t.Errorf("%s: --%s %q, want 0.0.0.0:PORT (the default is loopback only)", w.name, flag, addr)
				continue
			}
			probes := map[string]*corev1.Probe{"readiness": c.ReadinessProbe}
			if c.Args[0] != "sim" {
				probes["liveness"] = c.LivenessProbe
			}
			for kind, p := range probes {
				if p == nil || p.HTTPGet == nil || p.HTTPGet.Path != "/healthz" {
					t.Errorf("%s: no %s probe on /healthz", w.name, kind)
					continue
				}
				if got := portNumber(c, p.HTTPGet.Port); strconv.Itoa(got) != port {
					t.Errorf("%s: %s probe on port %d, the role serves on %s", w.name, kind, got, port)
				}
			}
		}
	}
}

// portNumber resolves a probe's port, named or numbered, in c.
func portNumber(c corev1.Container, port intstr.IntOrString) int {
	if port.Type == intstr.Int {
		return port.IntValue()
	}
	for _, p := range c.Ports {
		if p.Name == port.StrVal {
			return int(p.ContainerPort)
		}
	}
	return 0
}

// source is where a ration setting of a container comes from.
type source struct {
	value  string                    // a literal, ConfigMaps resolved
	field  string                    // or a field of the pod (downward API)
	secret *corev1.SecretKeySelector // or a Secret
}

var envRef = regexp.MustCompile(`^\$\(([A-Za-z_][A-Za-z0-9_]*)\)$`)

// setting returns where container c's ration setting flag comes from: an
// argument (--flag=value, a $(VAR) in it resolved), or the variable
// RATION_<FLAG> of its env or envFrom.
func setting(t *testing.T, b *build, c corev1.Container, flag string) source {
	t.Helper()
	for i, a := range c.Args {
		v, ok := strings.CutPrefix(a, "--"+flag+"=")
		if !ok && a == "--"+flag && i+1 < len(c.Args) {
			v, ok = c.Args[i+1], true
		}
		if !ok {
			continue
		}
		if m := envRef.FindStringSubmatch(v); m != nil {
			return envSource(t, b, c, m[1])
		}
		return source{value: v}
	}
	return envSource(t, b, c, "RATION_"+strings.ToUpper(strings.NewReplacer("-", "_", ".", "_").Replace(flag)))
}

// envSource resolves variable name of c as Kubernetes does: env beats
// envFrom.
func envSource(t *testing.T, b *build, c corev1.Container, name string) source {
	t.Helper()
	for _, e := range c.Env {
		if e.Name != name {
			continue
		}
		switch {
		case e.ValueFrom == nil:
			return source{value: e.Value}
		case e.ValueFrom.FieldRef != nil:
			return source{field: e.ValueFrom.FieldRef.FieldPath}
		case e.ValueFrom.SecretKeyRef != nil:
			return source{secret: e.ValueFrom.SecretKeyRef}
		case e.ValueFrom.ConfigMapKeyRef != nil:
			return source{value: configMapData(t, b, e.ValueFrom.ConfigMapKeyRef.Name)[e.ValueFrom.ConfigMapKeyRef.Key]}
		}
	}
	for _, e := range c.EnvFrom {
		if e.ConfigMapRef == nil {
			continue
		}
		if v, ok := configMapData(t, b, e.ConfigMapRef.Name)[strings.TrimPrefix(name, e.Prefix)]; ok && strings.HasPrefix(name, e.Prefix) {
			return source{value: v}
		}
	}
	return source{}
}
