// Package grafana reads ration's provisioned Grafana dashboards
// (deploy/grafana/dashboards) for the tests that hold them to the compose
// stack's data source and to the metrics ration serves.
package grafana

import (
	"encoding/json"
	"fmt"
	"os"
)

// Source is a data source reference.
type Source struct{ Type, UID string }

// Target is one query of a panel.
type Target struct {
	Expr       string
	Datasource *Source
}

// Panel is a panel that shows data (a row is not one; its panels are).
type Panel struct {
	Title      string
	Type       string
	Datasource *Source
	Targets    []Target
}

// Variable is a templating variable; Query is its expression when it is
// a query variable.
type Variable struct {
	Name       string
	Type       string
	Datasource *Source
	Query      string
}

// Dashboard is a dashboard file's uid, title, panels (rows' panels in
// their place) and variables.
type Dashboard struct {
	UID, Title string
	Panels     []Panel
	Variables  []Variable
}

// Read reads the dashboard in file.
func Read(file string) (Dashboard, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return Dashboard{}, err
	}
	var raw struct {
		UID, Title string
		Panels     []json.RawMessage
		Templating struct {
			List []struct {
				Name, Type string
				Datasource *Source
				Query      json.RawMessage
			}
		}
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return Dashboard{}, fmt.Errorf("%s: %w", file, err)
	}
	d := Dashboard{UID: raw.UID, Title: raw.Title}
	if d.Panels, err = panels(raw.Panels); err != nil {
		return Dashboard{}, fmt.Errorf("%s: %w", file, err)
	}
	for _, v := range raw.Templating.List {
		q, err := query(v.Query)
		if err != nil {
			return Dashboard{}, fmt.Errorf("%s: variable %s: %w", file, v.Name, err)
		}
		d.Variables = append(d.Variables, Variable{Name: v.Name, Type: v.Type, Datasource: v.Datasource, Query: q})
	}
	return d, nil
}

// panels flattens raw panels: a row gives way to the panels it holds.
func panels(raw []json.RawMessage) ([]Panel, error) {
	var out []Panel
	for _, r := range raw {
		var p struct {
			Panel
			Panels []json.RawMessage
		}
		if err := json.Unmarshal(r, &p); err != nil {
			return nil, fmt.Errorf("a panel: %w", err)
		}
		inner, err := panels(p.Panels)
		if err != nil {
			return nil, err
		}
		out = append(out, inner...)
		if p.Type != "row" {
			out = append(out, p.Panel)
		}
	}
	return out, nil
}

// query reads a variable's query: a string, or an object with one.
func query(raw json.RawMessage) (string, error) {
	if len(raw) == 0 {
		return "", nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return s, nil
	}
	var obj struct{ Query string }
	if err := json.Unmarshal(raw, &obj); err != nil {
		return "", err
	}
	return obj.Query, nil
}
