// Package cliconfig maps a YAML file and RATION_* environment variables onto
// the flags of a command, so that files, environment and flags all land in
// the same Config struct that the flags are bound to.
//
// Precedence, lowest first: the flag's default, the YAML file, the
// environment, the command line. A YAML key is a flag name
// ("session-timeout: 15s"); an environment variable is the flag name upper
// cased with dashes as underscores, behind RATION_ (RATION_SESSION_TIMEOUT).
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
	return "RATION_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
}

// Apply sets every flag of fs that the command line left alone from the
// environment, then from the YAML file at path (if path is not empty).
func Apply(fs *pflag.FlagSet, path string) error {
	file := map[string]any{}
	if path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			return fmt.Errorf("config file: %w", err)
		}
		if err := yaml.Unmarshal(b, &file); err != nil {
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
