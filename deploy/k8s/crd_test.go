package k8s

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"github.com/google/cel-go/cel"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"sigs.k8s.io/yaml"
)

// crdFiles maps each custom resource the manifests use, by "apiVersion
// kind", to the schema of its CRD under testdata/crds (written by
// testdata/crds/extract.go from the operators' own CRDs, versions in each
// file's header). The operators' Go types would bring their whole
// dependency trees (controller-runtime, the operators themselves).
var crdFiles = map[string]string{
	"kafka.strimzi.io/v1 Kafka":                                      "strimzi-kafka.yaml",
	"kafka.strimzi.io/v1 KafkaNodePool":                              "strimzi-kafkanodepool.yaml",
	"kafka.strimzi.io/v1 KafkaTopic":                                 "strimzi-kafkatopic.yaml",
	"kafka.strimzi.io/v1 KafkaUser":                                  "strimzi-kafkauser.yaml",
	"clickhouse.altinity.com/v1 ClickHouseInstallation":              "altinity-clickhouseinstallation.yaml",
	"clickhouse-keeper.altinity.com/v1 ClickHouseKeeperInstallation": "altinity-clickhousekeeperinstallation.yaml",
	"keda.sh/v1alpha1 ScaledObject":                                  "keda-scaledobject.yaml",
	"keda.sh/v1alpha1 TriggerAuthentication":                         "keda-triggerauthentication.yaml",
}

// crdSchema is a CRD's schema, compiled, with its x-kubernetes-validations
// rules compiled too.
type crdSchema struct {
	raw      map[string]any
	compiled *jsonschema.Schema
	rules    map[string]cel.Program
}

// loadSchemas compiles every schema of crdFiles once for all tests.
var loadSchemas = sync.OnceValues(func() (map[string]*crdSchema, error) {
	env, err := cel.NewEnv(cel.Variable("self", cel.DynType), cel.CrossTypeNumericComparisons(true))
	if err != nil {
		return nil, err
	}
	out := make(map[string]*crdSchema, len(crdFiles))
	for kind, file := range crdFiles {
		s, err := loadSchema(env, filepath.Join("testdata", "crds", file))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", file, err)
		}
		out[kind] = s
	}
	return out, nil
})

func loadSchema(env *cel.Env, path string) (*crdSchema, error) {
	y, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	js, err := yaml.YAMLToJSON(y)
	if err != nil {
		return nil, err
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(js))
	if err != nil {
		return nil, err
	}
	raw, ok := doc.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("schema is not an object")
	}
	closeSchema(raw)
	s := &crdSchema{raw: raw, rules: make(map[string]cel.Program)}
	if err := compileRules(env, raw, s.rules); err != nil {
		return nil, err
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource(path, raw); err != nil {
		return nil, err
	}
	if s.compiled, err = c.Compile(path); err != nil {
		return nil, err
	}
	return s, nil
}

// closeSchema makes every object schema that lists its properties refuse
// others, as the API server prunes them (and kubectl warns of them):
// additionalProperties false wherever the CRD neither says otherwise nor
// sets x-kubernetes-preserve-unknown-fields. It follows properties, items
// and additionalProperties, not allOf/anyOf/oneOf/not, whose branches
// list only the properties they constrain.
func closeSchema(s map[string]any) {
	walkSchema(s, func(s map[string]any) {
		_, listed := s["properties"]
		_, open := s["additionalProperties"]
		if listed && !open && s["x-kubernetes-preserve-unknown-fields"] != true {
			s["additionalProperties"] = false
		}
	})
}

// walkSchema calls f on s and every schema below it that describes a
// value (through properties, items and additionalProperties).
func walkSchema(s map[string]any, f func(map[string]any)) {
	f(s)
	if props, ok := s["properties"].(map[string]any); ok {
		for _, p := range props {
			if p, ok := p.(map[string]any); ok {
				walkSchema(p, f)
			}
		}
	}
	for _, k := range []string{"items", "additionalProperties"} {
		if c, ok := s[k].(map[string]any); ok {
			walkSchema(c, f)
		}
	}
}

// compileRules compiles every x-kubernetes-validations rule below s,
// keyed by its text.
func compileRules(env *cel.Env, s map[string]any, into map[string]cel.Program) error {
	var errs []error
	walkSchema(s, func(s map[string]any) {
		for _, rule := range rulesOf(s) {
			if _, done := into[rule]; done {
				continue
			}
			ast, iss := env.Compile(rule)
			if iss.Err() != nil {
				errs = append(errs, fmt.Errorf("rule %q: %w", rule, iss.Err()))
				continue
			}
			prg, err := env.Program(ast)
			if err != nil {
				errs = append(errs, fmt.Errorf("rule %q: %w", rule, err))
				continue
			}
			into[rule] = prg
		}
	})
	if len(errs) > 0 {
		return fmt.Errorf("%v", errs)
	}
	return nil
}

// rulesOf lists the CEL rules of schema s (transition rules, which need
// the old object, are left out).
func rulesOf(s map[string]any) []string {
	vs, _ := s["x-kubernetes-validations"].([]any)
	var out []string
	for _, v := range vs {
		m, _ := v.(map[string]any)
		if rule, ok := m["rule"].(string); ok && !strings.Contains(rule, "oldSelf") {
			out = append(out, rule)
		}
	}
	return out
}

// validate checks obj, a custom resource as JSON, against the schema and
// its CEL rules.
func (s *crdSchema) validate(obj []byte) error {
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(obj))
	if err != nil {
		return err
	}
	if err := s.compiled.Validate(inst); err != nil {
		return err
	}
	var plain any
	dec := json.NewDecoder(bytes.NewReader(obj))
	dec.UseNumber()
	if err := dec.Decode(&plain); err != nil {
		return err
	}
	return s.checkRules(s.raw, celValue(plain), "")
}

// checkRules evaluates the rules of schema sch on v and, recursively, on
// v's fields and items.
func (s *crdSchema) checkRules(sch map[string]any, v any, path string) error {
	for _, rule := range rulesOf(sch) {
		out, _, err := s.rules[rule].Eval(map[string]any{"self": v})
		if err != nil {
			return fmt.Errorf("%s: rule %q: %w", path, rule, err)
		}
		if ok, _ := out.Value().(bool); !ok {
			return fmt.Errorf("%s: fails rule %q", path, rule)
		}
	}
	switch v := v.(type) {
	case map[string]any:
		props, _ := sch["properties"].(map[string]any)
		extra, _ := sch["additionalProperties"].(map[string]any)
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			child, _ := props[k].(map[string]any)
			if child == nil {
				child = extra
			}
			if child == nil {
				continue
			}
			if err := s.checkRules(child, v[k], path+"/"+k); err != nil {
				return err
			}
		}
	case []any:
		if items, ok := sch["items"].(map[string]any); ok {
			for i, e := range v {
				if err := s.checkRules(items, e, fmt.Sprintf("%s/%d", path, i)); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// celValue turns JSON numbers into the int64 or float64 CEL compares.
func celValue(v any) any {
	switch v := v.(type) {
	case json.Number:
		if i, err := v.Int64(); err == nil {
			return i
		}
		f, _ := v.Float64()
		return f
	case map[string]any:
		for k, e := range v {
			v[k] = celValue(e)
		}
	case []any:
		for i, e := range v {
			v[i] = celValue(e)
		}
	}
	return v
}
