package ration

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestMakeFuzzesEveryTarget: the Makefile's FUZZ list, which `make test`
// and `make fuzz` run, names every fuzz target in the repository (a
// target left out is never run but by hand), and nothing else.
func TestMakeFuzzesEveryTarget(t *testing.T) {
	target := regexp.MustCompile(`(?m)^func (Fuzz\w+)\(f \*testing\.F\)`)
	var found []string
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (path == "third_party" || strings.HasPrefix(d.Name(), ".")) && path != "." {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, "_test.go") {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, m := range target.FindAllSubmatch(b, -1) {
			dir := filepath.Dir(path)
			if dir == "." {
				found = append(found, "./:"+string(m[1]))
			} else {
				found = append(found, "./"+filepath.ToSlash(dir)+"/:"+string(m[1]))
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	mk, err := os.ReadFile("Makefile")
	if err != nil {
		t.Fatal(err)
	}
	list := regexp.MustCompile(`(?s)\nFUZZ := \\\n(.*?)\n[a-z]+:`).FindSubmatch(mk)
	if list == nil {
		t.Fatal("no FUZZ := list in the Makefile")
	}
	listed := strings.Fields(strings.ReplaceAll(string(list[1]), "\\", " "))
	slices.Sort(found)
	slices.Sort(listed)
	if !slices.Equal(found, listed) {
		t.Fatalf("fuzz targets in the repository:\n%v\nin the Makefile's FUZZ:\n%v", found, listed)
	}
}
