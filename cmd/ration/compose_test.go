package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/pflag"
	"gopkg.in/yaml.v3"

	"github.com/rationhq/ration/internal/cliconfig"
	"github.com/rationhq/ration/pipelines/points"
)

type composeFile struct {
	Services map[string]struct {
		Image       string            `yaml:"image"`
		Command     []string          `yaml:"command"`
		Environment map[string]string `yaml:"environment"`
		Build       struct {
			Context    string `yaml:"context"`
			Dockerfile string `yaml:"dockerfile"`
		} `yaml:"build"`
		Volumes []string `yaml:"volumes"`
	} `yaml:"services"`
}

// TestComposeFileRunsRealCommands checks that every ration service of
// docker-compose.yml names a real subcommand with flags it accepts, that
// its RATION_* variables name real flags, and that the files it mounts and
// builds from exist. Docker itself is not run here.
func TestComposeFileRunsRealCommands(t *testing.T) {
	root := filepath.Join("..", "..")
	b, err := os.ReadFile(filepath.Join(root, "docker-compose.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var f composeFile
	if err := yaml.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	var ration []string
	for name, svc := range f.Services {
		for _, v := range svc.Volumes {
			if src, _, ok := strings.Cut(v, ":"); ok && strings.HasPrefix(src, "./") {
				if _, err := os.Stat(filepath.Join(root, src)); err != nil {
					t.Errorf("%s mounts %s: %v", name, src, err)
				}
			}
		}
		if svc.Image != "ration:dev" {
			continue
		}
		ration = append(ration, name)
		if _, err := os.Stat(filepath.Join(root, svc.Build.Context, svc.Build.Dockerfile)); err != nil {
			t.Errorf("%s builds from %s: %v", name, svc.Build.Dockerfile, err)
		}
		cmd, rest, err := newRootCmd().Find(svc.Command)
		if err != nil || !cmd.Runnable() {
			t.Errorf("%s: command %v is not a ration command: %v", name, svc.Command, err)
			continue
		}
		if err := cmd.ParseFlags(rest); err != nil {
			t.Errorf("%s: %v: %v", name, svc.Command, err)
		}
		if args := cmd.Flags().Args(); len(args) > 0 {
			t.Errorf("%s: stray arguments %v", name, args)
		}
		for env := range svc.Environment {
			found := env == points.SecretEnv // a secret the points routes read, not a flag

			cmd.Flags().VisitAll(func(fl *pflag.Flag) { found = found || cliconfig.EnvName(fl.Name) == env })
			cmd.InheritedFlags().VisitAll(func(fl *pflag.Flag) { found = found || cliconfig.EnvName(fl.Name) == env })
			if !found {
				t.Errorf("%s: %s sets no flag of %v", name, env, svc.Command)
			}
		}
	}
	slices.Sort(ration)
	if want := []string{"api", "points-worker", "reprocess", "sim", "sink", "worker"}; !slices.Equal(ration, want) {
		t.Errorf("ration services %v, want %v", ration, want)
	}
}
