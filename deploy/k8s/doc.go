// Package k8s holds ration's Kubernetes manifests, for kustomize: base/
// (Kafka through Strimzi, ClickHouse and Keeper through the Altinity
// operator, a schema registry, and ration's roles with their KEDA
// scaling) and overlays/ (dev, production). README.md says how to apply
// them and which operators they need.
//
// The package has no code, only a test: it builds every overlay with
// kustomize's Go API, decodes each object strictly (built-in kinds into
// k8s.io/api types, custom resources against their CRDs' schemas, saved
// under testdata/crds), and checks what the manifests owe to ration's
// code: the topics and worker ACLs its pipeline descriptors derive, a
// worker's stable --instance-id, scaling capped at the partitions, and a
// /healthz probe on each role's HTTP port.
package k8s
