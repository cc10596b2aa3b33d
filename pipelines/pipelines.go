// Package pipelines lists ration's pipelines: the one place a new
// pipeline is added (docs/DESIGN.md, "Adding a pipeline"). Everything
// else — topics, schemas, ACLs, workers, the sink's tables, the HTTP
// routes, ration dev — is derived from these descriptors.
package pipelines

import (
	"fmt"
	"slices"

	"github.com/rationhq/ration/pipeline"
	"github.com/rationhq/ration/pipelines/dm"
	"github.com/rationhq/ration/pipelines/points"
	"github.com/rationhq/ration/pipelines/receipts"
)

// All returns a fresh descriptor of every pipeline (its options at their
// defaults, ready to be bound to flags).
func All() []pipeline.Descriptor {
	return []pipeline.Descriptor{dm.New(), receipts.New(), points.New()}
}

// Names lists the pipelines' names.
func Names(ds []pipeline.Descriptor) []string {
	names := make([]string, len(ds))
	for i, d := range ds {
		names[i] = d.Name
	}
	return names
}

// Find returns the descriptor called name among ds.
func Find(ds []pipeline.Descriptor, name string) (pipeline.Descriptor, error) {
	i := slices.IndexFunc(ds, func(d pipeline.Descriptor) bool { return d.Name == name })
	if i < 0 {
		return pipeline.Descriptor{}, fmt.Errorf("no pipeline %q (pipelines: %v)", name, Names(ds))
	}
	return ds[i], nil
}
