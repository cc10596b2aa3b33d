package k8s

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	kjson "sigs.k8s.io/json"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// overlay is an overlay the test builds and what it promises.
type overlay struct {
	dir string
	// brokers is the number of Kafka nodes with the broker role;
	// topicReplicas and minISR every topic's replication and
	// min.insync.replicas.
	brokers, topicReplicas, minISR int
	// shards and replicas are the ClickHouse cluster's layout.
	shards, replicas int
	// external are the Secrets the overlay expects to exist already
	// (README.md says how to create them); every other Secret a pod or
	// operator reads must be in the build or be a KafkaUser's.
	external []string
}

var overlays = []overlay{
	{dir: "overlays/dev", brokers: 1, topicReplicas: 1, minISR: 1, shards: 1, replicas: 1},
	{dir: "overlays/production", brokers: 3, topicReplicas: 3, minISR: 2, shards: 2, replicas: 2,
		external: []string{"clickhouse-credentials", "ration-points", "ration-api-admin-key"}},
}

// TestOverlays builds every overlay, decodes each object strictly and
// checks the manifests against each other and against ration's code.
func TestOverlays(t *testing.T) {
	for _, o := range overlays {
		t.Run(filepath.Base(o.dir), func(t *testing.T) {
			b := buildOverlay(t, o.dir)
			if t.Failed() {
				return
			}
			t.Run("topics are the code's", func(t *testing.T) { checkTopics(t, b, o) })
			t.Run("worker ACLs are the code's grants", func(t *testing.T) { checkWorkerACLs(t, b) })
			t.Run("Kafka has the overlay's size", func(t *testing.T) { checkKafka(t, b, o) })
			t.Run("ClickHouse runs ration in cluster mode", func(t *testing.T) { checkClickHouse(t, b, o) })
			t.Run("workers keep their instance ids", func(t *testing.T) { checkWorkers(t, b) })
			t.Run("scaling stops at the partitions", func(t *testing.T) { checkScaling(t, b) })
			t.Run("probes ask /healthz where roles serve HTTP", func(t *testing.T) { checkProbes(t, b) })
			t.Run("references resolve", func(t *testing.T) { checkReferences(t, b, o) })
			t.Run("selectors select", func(t *testing.T) { checkSelectors(t, b) })
		})
	}
}

// TestEveryOverlayIsTested: a new overlay joins the table above.
func TestEveryOverlayIsTested(t *testing.T) {
	entries, err := os.ReadDir("overlays")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		dir := filepath.Join("overlays", e.Name())
		if e.IsDir() && !slices.ContainsFunc(overlays, func(o overlay) bool { return o.dir == dir }) {
			t.Errorf("%s is not in the test's overlays", dir)
		}
	}
}

// object is one resource of a build.
type object struct {
	apiVersion, kind, name string
	json                   []byte
	// typed is the decoded object of a built-in kind, nil for a custom
	// resource.
	typed any
}

// build is the output of one overlay.
type build struct {
	objects []object
}

// builtins are the built-in kinds the manifests may use, by "apiVersion
// kind", each with a new value to decode one into.
var builtins = map[string]func() any{
	"v1 Namespace":                  func() any { return new(corev1.Namespace) },
	"v1 ConfigMap":                  func() any { return new(corev1.ConfigMap) },
	"v1 Secret":                     func() any { return new(corev1.Secret) },
	"v1 Service":                    func() any { return new(corev1.Service) },
	"apps/v1 Deployment":            func() any { return new(appsv1.Deployment) },
	"apps/v1 StatefulSet":           func() any { return new(appsv1.StatefulSet) },
	"policy/v1 PodDisruptionBudget": func() any { return new(policyv1.PodDisruptionBudget) },
}

// buildOverlay runs kustomize on dir and decodes what it outputs,
// reporting every object that does not decode.
func buildOverlay(t *testing.T, dir string) *build {
	t.Helper()
	m, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(filesys.MakeFsOnDisk(), dir)
	if err != nil {
		t.Fatalf("kustomize build %s: %v", dir, err)
	}
	schemas, err := loadSchemas()
	if err != nil {
		t.Fatalf("CRD schemas: %v", err)
	}
	b := &build{}
	for _, r := range m.Resources() {
		js, err := r.MarshalJSON()
		if err != nil {
			t.Fatalf("%s: %v", r.CurId(), err)
		}
		o := object{apiVersion: r.GetApiVersion(), kind: r.GetKind(), name: r.GetName(), json: js}
		if err := decode(&o, schemas); err != nil {
			t.Errorf("%s %s: %v", o.kind, o.name, err)
			continue
		}
		b.objects = append(b.objects, o)
	}
	return b
}

// decode checks o strictly: a built-in kind decodes into its k8s.io/api
// type with no unknown, duplicate or miscased field; a custom resource
// validates against its CRD's schema (unknown fields refused) and rules,
// its metadata decodes as ObjectMeta, and the pod and volume claim
// templates it embeds decode as theirs.
func decode(o *object, schemas map[string]*crdSchema) error {
	kind := o.apiVersion + " " + o.kind
	var meta metav1.ObjectMeta
	if newObj, ok := builtins[kind]; ok {
		o.typed = newObj()
		if err := strict(o.json, o.typed); err != nil {
			return err
		}
		m := o.typed.(metav1.Object)
		meta = metav1.ObjectMeta{Name: m.GetName(), Labels: m.GetLabels()}
	} else {
		s, ok := schemas[kind]
		if !ok {
			return fmt.Errorf("no type or CRD schema for %s: add it to builtins or crdFiles", kind)
		}
		if err := s.validate(o.json); err != nil {
			return err
		}
		var cr struct {
			Metadata json.RawMessage `json:"metadata"`
		}
		if err := json.Unmarshal(o.json, &cr); err != nil {
			return err
		}
		if err := strict(cr.Metadata, &meta); err != nil {
			return fmt.Errorf("metadata: %w", err)
		}
		if err := decodeEmbedded(o); err != nil {
			return err
		}
	}
	return validMeta(o.kind, meta)
}

// strict decodes js into v as the API server would, and refuses what it
// would drop or warn about.
func strict(js []byte, v any) error {
	strictErrs, err := kjson.UnmarshalStrict(js, v)
	if err != nil {
		return err
	}
	return errors.Join(strictErrs...)
}

// decodeEmbedded decodes the pod and volume claim templates of the
// Altinity operator's resources, which their CRDs leave open.
func decodeEmbedded(o *object) error {
	if o.kind != "ClickHouseInstallation" && o.kind != "ClickHouseKeeperInstallation" {
		return nil
	}
	var cr struct {
		Spec struct {
			Templates struct {
				PodTemplates []struct {
					Name string          `json:"name"`
					Spec json.RawMessage `json:"spec"`
				} `json:"podTemplates"`
				VolumeClaimTemplates []struct {
					Name string          `json:"name"`
					Spec json.RawMessage `json:"spec"`
				} `json:"volumeClaimTemplates"`
			} `json:"templates"`
		} `json:"spec"`
	}
	if err := json.Unmarshal(o.json, &cr); err != nil {
		return err
	}
	for _, p := range cr.Spec.Templates.PodTemplates {
		if err := strict(p.Spec, new(corev1.PodSpec)); err != nil {
			return fmt.Errorf("pod template %s: %w", p.Name, err)
		}
	}
	for _, v := range cr.Spec.Templates.VolumeClaimTemplates {
		if err := strict(v.Spec, new(corev1.PersistentVolumeClaimSpec)); err != nil {
			return fmt.Errorf("volume claim template %s: %w", v.Name, err)
		}
	}
	return nil
}

// validMeta checks names and labels as the API server does.
func validMeta(kind string, meta metav1.ObjectMeta) error {
	var errs []string
	if kind == "Service" || kind == "Namespace" {
		errs = append(errs, validation.IsDNS1035Label(meta.Name)...)
	} else {
		errs = append(errs, validation.IsDNS1123Subdomain(meta.Name)...)
	}
	for k, v := range meta.Labels {
		errs = append(errs, validation.IsQualifiedName(k)...)
		errs = append(errs, validation.IsValidLabelValue(v)...)
	}
	if len(errs) > 0 {
		return fmt.Errorf("metadata: %v", errs)
	}
	return nil
}

// typed returns the build's objects of type T.
func typed[T any](b *build) []T {
	var out []T
	for _, o := range b.objects {
		if v, ok := o.typed.(T); ok {
			out = append(out, v)
		}
	}
	return out
}

// meta is a custom resource's metadata, as the checks read it.
type meta struct {
	Name   string            `json:"name"`
	Labels map[string]string `json:"labels"`
}

// custom decodes the build's custom resources of kind into T (leniently:
// decode has checked them strictly already).
func custom[T any](t *testing.T, b *build, kind string) []T {
	t.Helper()
	var out []T
	for _, o := range b.objects {
		if o.kind != kind || o.typed != nil {
			continue
		}
		var v T
		if err := json.Unmarshal(o.json, &v); err != nil {
			t.Fatalf("%s %s: %v", kind, o.name, err)
		}
		out = append(out, v)
	}
	return out
}

func configMapData(t *testing.T, b *build, name string) map[string]string {
	t.Helper()
	for _, c := range typed[*corev1.ConfigMap](b) {
		if c.Name == name {
			return c.Data
		}
	}
	t.Errorf("no ConfigMap %s", name)
	return nil
}

// configValue is a variable of the ConfigMap ration, which every role reads.
func configValue(t *testing.T, b *build, name string) string {
	t.Helper()
	v, ok := configMapData(t, b, "ration")[name]
	if !ok {
		t.Errorf("ConfigMap ration has no %s", name)
	}
	return v
}

func intConfig(t *testing.T, cfg map[string]any, key string) int {
	t.Helper()
	n, err := strconv.Atoi(fmt.Sprint(cfg[key]))
	if err != nil {
		t.Errorf("config %s: %v", key, err)
	}
	return n
}

func ptr[T any](v T) *T { return &v }
