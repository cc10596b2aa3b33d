package pipelines_test

import (
	"os"
	"sort"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/rationhq/ration/api"
	"github.com/rationhq/ration/pipelines"
)

// TestOpenAPIMatchesRoutes keeps docs/openapi.yaml and the routes in
// step: every route a server with all of ration's pipelines mounts is
// documented, and every documented operation is mounted.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	b, err := os.ReadFile("../docs/openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		OpenAPI string                               `yaml:"openapi"`
		Paths   map[string]map[string]map[string]any `yaml:"paths"`
	}
	if err := yaml.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.0") {
		t.Fatalf("openapi %q, want 3.0.x", doc.OpenAPI)
	}
	documented := map[string]bool{}
	for path, ops := range doc.Paths {
		for method, op := range ops {
			documented[strings.ToUpper(method)+" "+path] = true
			if _, ok := op["responses"]; !ok {
				t.Errorf("%s %s documents no responses", method, path)
			}
		}
	}
	mounted := map[string]bool{}
	for _, rt := range allRoutes(t) {
		mounted[rt.Pattern()] = true
	}
	var missing, extra []string
	for p := range mounted {
		if !documented[p] {
			missing = append(missing, p)
		}
	}
	for p := range documented {
		if !mounted[p] {
			extra = append(extra, p)
		}
	}
	sort.Strings(missing)
	sort.Strings(extra)
	if len(missing) > 0 {
		t.Errorf("mounted but not in docs/openapi.yaml: %v", missing)
	}
	if len(extra) > 0 {
		t.Errorf("in docs/openapi.yaml but not mounted: %v", extra)
	}
}

// allRoutes returns what a server with every pipeline's routes mounts.
// The routes are built without Kafka or ClickHouse, as for an API that
// can neither write nor read: what is mounted does not depend on the
// backends.
func allRoutes(t *testing.T) []api.Route {
	t.Helper()
	var routes []api.Route
	for _, d := range pipelines.All() {
		if d.Routes == nil {
			continue
		}
		rs, err := d.Routes(api.Backends{Config: api.Defaults()})
		if err != nil {
			t.Fatalf("pipeline %s: routes without backends: %v", d.Name, err)
		}
		if len(rs) == 0 {
			t.Errorf("pipeline %s declares routes but builds none", d.Name)
		}
		routes = append(routes, rs...)
	}
	srv, err := api.New(api.Defaults(), api.Deps{Routes: routes})
	if err != nil {
		t.Fatal(err)
	}
	return srv.Routes()
}
