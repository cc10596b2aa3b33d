package roles

import (
	"fmt"
	"slices"

	"github.com/rationhq/ration/api"
	"github.com/rationhq/ration/internal/buckets"
	"github.com/rationhq/ration/pipeline"
	"github.com/rationhq/ration/reprocess"
)

// bucketStages are the stages of ds whose buckets GET /v1/pipelines shows.
func bucketStages(ds []pipeline.Descriptor) []buckets.Stage {
	var out []buckets.Stage
	for _, d := range ds {
		for _, s := range d.Stages {
			out = append(out, buckets.Stage{Pipeline: d.Name, Name: s.Name, Group: d.Group(s.Name), Topics: slices.Clone(s.Inputs)})
		}
	}
	return out
}

// reprocessPipelines is what the reprocessor knows of ds.
func reprocessPipelines(ds []pipeline.Descriptor) map[string]reprocess.Pipeline {
	out := make(map[string]reprocess.Pipeline, len(ds))
	for _, d := range ds {
		p := reprocess.Pipeline{EventsTopic: d.EventsTopic()}
		for _, s := range d.Stages {
			if s.Hold {
				p.Holding = append(p.Holding, s.Name)
			}
		}
		out[d.Name] = p
	}
	return out
}

// routes are the HTTP routes of every pipeline of ds that has them.
func routes(ds []pipeline.Descriptor, b api.Backends) ([]api.Route, error) {
	var out []api.Route
	for _, d := range ds {
		if d.Routes == nil {
			continue
		}
		rs, err := d.Routes(b)
		if err != nil {
			return nil, fmt.Errorf("pipeline %s: routes: %w", d.Name, err)
		}
		out = append(out, rs...)
	}
	return out, nil
}
