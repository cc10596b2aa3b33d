//go:build ignore

// Extract writes the part of a CustomResourceDefinition the tests validate
// against: one version's openAPIV3Schema without its status and without
// descriptions (they are most of a CRD's bytes and validate nothing),
// under a header naming the CRD's source. Run from this directory, e.g.:
//
//	curl -sL https://raw.githubusercontent.com/kedacore/keda/v2.20.2/config/crd/bases/keda.sh_scaledobjects.yaml |
//		go run extract.go -source https://github.com/kedacore/keda/blob/v2.20.2/config/crd/bases/keda.sh_scaledobjects.yaml -release 'KEDA v2.20.2' -version v1alpha1 > keda-scaledobject.yaml
package main

import (
	"flag"
	"fmt"
	"io"
	"log"
	"os"

	"sigs.k8s.io/yaml"
)

type crd struct {
	Spec struct {
		Group string `json:"group"`
		Names struct {
			Kind string `json:"kind"`
		} `json:"names"`
		Versions []struct {
			Name   string `json:"name"`
			Schema struct {
				OpenAPIV3Schema map[string]any `json:"openAPIV3Schema"`
			} `json:"schema"`
		} `json:"versions"`
	} `json:"spec"`
}

func main() {
	source := flag.String("source", "", "URL of the CRD")
	release := flag.String("release", "", "the operator and release the CRD comes from")
	version := flag.String("version", "", "the CRD version to extract")
	flag.Parse()
	in, err := io.ReadAll(os.Stdin)
	if err != nil {
		log.Fatal(err)
	}
	var c crd
	if err := yaml.Unmarshal(in, &c); err != nil {
		log.Fatal(err)
	}
	for _, v := range c.Spec.Versions {
		if v.Name != *version {
			continue
		}
		s := v.Schema.OpenAPIV3Schema
		if props, ok := s["properties"].(map[string]any); ok {
			delete(props, "status")
		}
		strip(s)
		out, err := yaml.Marshal(s)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("# %s/%s %s: the openAPIV3Schema of the CRD of %s, without status\n", c.Spec.Group, *version, c.Spec.Names.Kind, *release)
		fmt.Printf("# and descriptions (written by extract.go).\n# Source: %s\n", *source)
		os.Stdout.Write(out)
		return
	}
	log.Fatalf("no version %q", *version)
}

// strip removes every description: of a schema, and of properties
// called "description" only their schemas' own descriptions.
func strip(v any) {
	switch v := v.(type) {
	case map[string]any:
		if d, ok := v["description"]; ok {
			if _, isString := d.(string); isString {
				delete(v, "description")
			}
		}
		for _, c := range v {
			strip(c)
		}
	case []any:
		for _, c := range v {
			strip(c)
		}
	}
}
