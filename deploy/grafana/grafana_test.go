package grafana

import (
	"path/filepath"
	"testing"
)

// TestReadFlattensRows: every shipped dashboard reads, and its panels are
// the ones that show data, those inside rows among them.
func TestReadFlattensRows(t *testing.T) {
	files, err := filepath.Glob("dashboards/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no dashboards: %v", err)
	}
	for _, f := range files {
		d, err := Read(f)
		if err != nil {
			t.Fatal(err)
		}
		if len(d.Panels) == 0 {
			t.Errorf("%s: no panels", f)
		}
		for _, p := range d.Panels {
			if p.Type == "row" {
				t.Errorf("%s: row %q among the panels", f, p.Title)
			}
		}
	}
}

func TestVariableQueryTakesBothForms(t *testing.T) {
	for _, raw := range []string{`"label_values(up, job)"`, `{"query": "label_values(up, job)"}`} {
		if q, err := query([]byte(raw)); err != nil || q != "label_values(up, job)" {
			t.Errorf("query %s: %q, %v", raw, q, err)
		}
	}
}
