package k8s

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/rationhq/ration/auth"
)

// checkReferences: every Secret and ConfigMap key a pod, the ClickHouse
// operator or KEDA reads is in the build, or (Secrets) the User
// Operator's for a KafkaUser, or one of the overlay's external Secrets.
func checkReferences(t *testing.T, b *build, o overlay) {
	secrets := make(map[string]map[string]bool)
	for _, s := range typed[*corev1.Secret](b) {
		keys := make(map[string]bool)
		for k := range s.Data {
			keys[k] = true
		}
		for k := range s.StringData {
			keys[k] = true
		}
		secrets[s.Name] = keys
	}
	for _, u := range custom[kafkaUser](t, b, "KafkaUser") {
		secrets[u.Metadata.Name] = map[string]bool{"password": true, "sasl.jaas.config": true}
	}
	configMaps := make(map[string]map[string]string)
	for _, c := range typed[*corev1.ConfigMap](b) {
		configMaps[c.Name] = c.Data
	}
	secretRef := func(from, name, key string) {
		if slices.Contains(o.external, name) {
			return
		}
		if keys, ok := secrets[name]; !ok || (key != "" && !keys[key]) {
			t.Errorf("%s: Secret %s key %q is neither in the build, a KafkaUser's nor external", from, name, key)
		}
	}
	configMapRef := func(from, name, key string) {
		if data, ok := configMaps[name]; !ok {
			t.Errorf("%s: no ConfigMap %s", from, name)
		} else if _, ok := data[key]; key != "" && !ok {
			t.Errorf("%s: ConfigMap %s has no key %s", from, name, key)
		}
	}
	for _, w := range workloads(b) {
		for _, v := range w.spec.Volumes {
			if v.Secret != nil {
				secretRef(w.name, v.Secret.SecretName, "")
			}
		}
		for _, c := range append(slices.Clone(w.spec.InitContainers), w.spec.Containers...) {
			for _, e := range c.EnvFrom {
				if e.SecretRef != nil {
					secretRef(w.name, e.SecretRef.Name, "")
				}
				if e.ConfigMapRef != nil {
					configMapRef(w.name, e.ConfigMapRef.Name, "")
				}
			}
			for _, e := range c.Env {
				if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
					secretRef(w.name+" "+e.Name, e.ValueFrom.SecretKeyRef.Name, e.ValueFrom.SecretKeyRef.Key)
				}
				if e.ValueFrom != nil && e.ValueFrom.ConfigMapKeyRef != nil {
					configMapRef(w.name+" "+e.Name, e.ValueFrom.ConfigMapKeyRef.Name, e.ValueFrom.ConfigMapKeyRef.Key)
				}
			}
		}
	}
	for _, chi := range custom[clickHouse](t, b, "ClickHouseInstallation") {
		for setting, v := range chi.Spec.Configuration.Users {
			if ref := field(v, "valueFrom", "secretKeyRef"); ref != nil {
				secretRef("ClickHouse user "+setting, fmt.Sprint(ref["name"]), fmt.Sprint(ref["key"]))
			}
		}
	}
	for _, a := range custom[triggerAuthentication](t, b, "TriggerAuthentication") {
		for _, r := range a.Spec.SecretTargetRef {
			secretRef("TriggerAuthentication "+a.Metadata.Name, r.Name, r.Key)
		}
		for _, r := range a.Spec.ConfigMapTargetRef {
			configMapRef("TriggerAuthentication "+a.Metadata.Name, r.Name, r.Key)
		}
	}
	for _, s := range typed[*corev1.Secret](b) {
		if key, ok := s.Data["admin.key"]; ok && !auth.WellFormed(strings.TrimSpace(string(key))) {
			t.Errorf("Secret %s: admin.key is no ration API key (rk_ and 43 base64url characters)", s.Name)
		}
	}
}

// checkSelectors: workloads select their own pods, every Service and
// PodDisruptionBudget selects some workload's pods, and every ration
// workload has a PodDisruptionBudget.
func checkSelectors(t *testing.T, b *build) {
	ws := workloads(b)
	selects := func(sel labels.Selector) []string {
		var names []string
		for _, w := range ws {
			if sel.Matches(labels.Set(w.labels)) {
				names = append(names, w.name)
			}
		}
		return names
	}
	for _, w := range ws {
		if !w.selector.Matches(labels.Set(w.labels)) {
			t.Errorf("%s: selector %s does not match its pods' labels %v", w.name, w.selector, w.labels)
		}
	}
	for _, s := range typed[*corev1.Service](b) {
		if len(s.Spec.Selector) == 0 || len(selects(labels.SelectorFromSet(s.Spec.Selector))) == 0 {
			t.Errorf("Service %s: selects no pods", s.Name)
		}
	}
	budgeted := make(map[string]bool)
	for _, p := range typed[*policyv1.PodDisruptionBudget](b) {
		names := selects(selector(p.Spec.Selector))
		if len(names) == 0 {
			t.Errorf("PodDisruptionBudget %s: selects no pods", p.Name)
		}
		for _, n := range names {
			budgeted[n] = true
		}
	}
	for _, w := range ws {
		if _, ok := rationContainer(w.spec); ok && w.role != "sim" && !budgeted[w.name] {
			t.Errorf("%s: no PodDisruptionBudget", w.name)
		}
	}
}

// field returns the object at path in v, or nil.
func field(v any, path ...string) map[string]any {
	for _, k := range path {
		m, _ := v.(map[string]any)
		v = m[k]
	}
	m, _ := v.(map[string]any)
	return m
}

// workload is a Deployment's or StatefulSet's pod template.
type workload struct {
	name     string
	role     string // a ration container's first argument
	selector labels.Selector
	labels   map[string]string
	spec     corev1.PodSpec
}

func workloads(b *build) []workload {
	var out []workload
	add := func(name string, sel labels.Selector, tmpl corev1.PodTemplateSpec) {
		w := workload{name: name, selector: sel, labels: tmpl.Labels, spec: tmpl.Spec}
		if c, ok := rationContainer(tmpl.Spec); ok && len(c.Args) > 0 {
			w.role = c.Args[0]
		}
		out = append(out, w)
	}
	for _, d := range typed[*appsv1.Deployment](b) {
		add("Deployment "+d.Name, selector(d.Spec.Selector), d.Spec.Template)
	}
	for _, s := range typed[*appsv1.StatefulSet](b) {
		add("StatefulSet "+s.Name, selector(s.Spec.Selector), s.Spec.Template)
	}
	return out
}

func containers(b *build) []corev1.Container {
	var out []corev1.Container
	for _, w := range workloads(b) {
		out = append(out, w.spec.Containers...)
	}
	return out
}

// rationContainer returns the pod's container running ration.
func rationContainer(spec corev1.PodSpec) (corev1.Container, bool) {
	for _, c := range spec.Containers {
		if strings.HasPrefix(c.Image, "ration:") {
			return c, true
		}
	}
	return corev1.Container{}, false
}

// selector is s as a Selector; one that does not parse selects nothing.
func selector(s *metav1.LabelSelector) labels.Selector {
	sel, err := metav1.LabelSelectorAsSelector(s)
	if err != nil {
		return labels.Nothing()
	}
	return sel
}
