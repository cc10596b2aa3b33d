// Package cliconfig maps a YAML file and RATION_* environment variables onto
// the flags of a command, so that files, environment and flags all land in
// the same Config struct that the flags are bound to.
//
// Precedence, lowest first: the flag's default, the YAML file, the
// environment, the command line. A YAML key is a flag name
// ("session-timeout: 15s"); nested keys join with dots, so
//
//	reprocess:
//	  attempt_count: 3
//
// sets the flag reprocess.attempt_count, as the flat key
// "reprocess.attempt_count: 3" does. An environment variable is the flag
// name upper cased with dashes and dots as underscores, behind RATION_
// (RATION_SESSION_TIMEOUT, RATION_REPROCESS_ATTEMPT_COUNT).
//
// A duration flag bound with DurationVar, or converted by AcceptSeconds,
// takes a whole number of seconds ("86400") as well as a Go duration
// ("24h"), wherever the value comes from.
package cliconfig

import (
	"fmt"
	"os"
	"strings"

	"github.com/spf13/pflag"
	"gopkg.in/yaml.v3"
)

// EnvName returns the environment variable that sets flag name.
func EnvName(name string) string {
	return "RATION_" + strings.ToUpper(envReplacer.Replace(name))
}

var envReplacer = strings.NewReplacer("-", "_", ".", "_")

// Apply sets every flag of fs that the command line left alone from the
// environment, then from the YAML file at path (if path is not empty).
func Apply(fs *pflag.FlagSet, path string) error {
	file := map[string]any{}
	if path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			return fmt.Errorf("config file: %w", err)
		}
		raw := map[string]any{}
		if err := yaml.Unmarshal(b, &raw); err != nil {
			return fmt.Errorf("config file %s: %w", path, err)
		}
		if err := flatten(file, "", raw); err != nil {
			return fmt.Errorf("config file %s: %w", path, err)
		}
		for key := range file {
			if fs.Lookup(key) == nil {
				return fmt.Errorf("config file %s: unknown key %q", path, key)
			}
		}
	}
	var firstErr error
	fs.VisitAll(func(f *pflag.Flag) {
		if f.Changed || firstErr != nil {
			return
		}
		if v, ok := os.LookupEnv(EnvName(f.Name)); ok {
			if err := fs.Set(f.Name, v); err != nil {
				firstErr = fmt.Errorf("%s: %w", EnvName(f.Name), err)
			}
			return
		}
		if v, ok := file[f.Name]; ok {
			if err := setFromYAML(fs, f, v); err != nil {
				firstErr = fmt.Errorf("config file key %s: %w", f.Name, err)
			}
		}
	})
	return firstErr
}

// flatten copies the values of m into flat, under their keys joined to
// prefix with dots; a nested map adds its keys to the path.
func flatten(flat map[string]any, prefix string, m map[string]any) error {
	for key, v := range m {
		if prefix != "" {
			key = prefix + "." + key
		}
		if nested, ok := asMap(v); ok {
			if err := flatten(flat, key, nested); err != nil {
				return err
			}
			continue
		}
		if _, dup := flat[key]; dup {
			return fmt.Errorf("key %q set twice", key)
		}
		flat[key] = v
	}
	return nil
}

// asMap returns v as a map with string keys if it is a YAML mapping.
func asMap(v any) (map[string]any, bool) {
	switch m := v.(type) {
	case map[string]any:
		return m, true
	case map[any]any:
		out := make(map[string]any, len(m))
		for k, v := range m {
			out[fmt.Sprint(k)] = v
		}
		return out, true
	}
	return nil, false
}

func setFromYAML(fs *pflag.FlagSet, f *pflag.Flag, v any) error {
	list, ok := v.([]any)
	if !ok {
		return fs.Set(f.Name, fmt.Sprint(v))
	}
	parts := make([]string, len(list))
	for i, item := range list {
		parts[i] = fmt.Sprint(item)
	}
	return fs.Set(f.Name, strings.Join(parts, ","))
}
