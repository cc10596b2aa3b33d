package devstack

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/rationhq/ration"
	"github.com/rationhq/ration/api/apiclient"
	"github.com/rationhq/ration/deploy/grafana"
	"github.com/rationhq/ration/pipelines/dm"
)

// dashboardsDir holds the Grafana dashboards docker-compose.yml provisions.
var dashboardsDir = filepath.Join("..", "..", "deploy", "grafana", "dashboards")

// TestDashboardsQueryServedMetrics: every metric a panel or variable of
// deploy/grafana/dashboards queries is one ration serves, under the name
// and with the labels the query uses. The dev stack runs every role in one
// process, so its /metrics has what the separate roles of
// docker-compose.yml serve between them. Series that exist only once
// something happened are made to happen first: checks, a checker outage
// that parks users and a reprocessing run that sends them back, a record
// that does not decode (a dead letter and a sink decode error), and a
// table ClickHouse lacks for a moment (a sink insert error).
func TestDashboardsQueryServedMetrics(t *testing.T) {
	queries := dashboardQueries(t, dashboardsDir)
	checkerURL, up := downChecker(t)
	dir := t.TempDir()
	s := startStackWith(t, dir, func(cfg *Config) {
		dmOptions(cfg).CheckerURL = checkerURL
		cfg.Tuning.RetryDelays = []time.Duration{50 * time.Millisecond, 100 * time.Millisecond, 150 * time.Millisecond}
	})
	ctx := context.Background()

	users := ids("dash", 0, 6)
	if _, err := s.api.RegisterUsers(ctx, users); err != nil {
		t.Fatal(err)
	}
	if _, err := s.api.Mark(ctx, users[:3], "normal"); err != nil {
		t.Fatal(err)
	}
	awaitStats(t, s, "three users parked while the checker is down", func(st ration.DMStats) bool { return st.Parked == 3 })
	up()
	// The stats come from the state view, the selection from the events
	// table: the two may reach ClickHouse a flush apart.
	await(t, 30*time.Second, "a dry run selects the three parked users", func() (bool, string) {
		dry, err := s.api.Reprocess(ctx, apiclient.ReprocessRequest{Pipeline: dm.Name, DryRun: true})
		return err == nil && dry.Selected == 3, fmt.Sprintf("%+v, %v", dry, err)
	})
	if _, err := s.api.Reprocess(ctx, apiclient.ReprocessRequest{Pipeline: dm.Name}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.api.Mark(ctx, users[3:], "high"); err != nil {
		t.Fatal(err)
	}
	awaitStats(t, s, "every user checked", func(st ration.DMStats) bool { return st.Checked == 6 })

	cl, err := kgo.NewClient(adminKafka(t, dir, s.addrs).Opts(nil)...)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	junk := &kgo.Record{Topic: dm.TopicChecks, Key: []byte("dash-junk"), Value: []byte("not avro")}
	if err := cl.ProduceSync(ctx, junk).FirstErr(); err != nil {
		t.Fatal(err)
	}
	provokeInsertError(t, s)

	await(t, time.Minute, "every metric the dashboards query, with its labels", func() (bool, string) {
		fams, err := scrapeMetrics(s.addrs.API + "/metrics")
		if err != nil {
			return false, err.Error()
		}
		var problems []string
		for _, q := range queries {
			problems = append(problems, q.check(fams)...)
		}
		return len(problems) == 0, strings.Join(problems, "; ")
	})
}

// provokeInsertError hides the audit table from the sink while an audited
// request is stored, until the sink counts the failed insert, then gives
// the table back; the sink's retry then stores the rows.
func provokeInsertError(t *testing.T, s *stack) {
	t.Helper()
	ctx := context.Background()
	reader, err := openReader(ctx, s.addrs.ClickHouse)
	if err != nil {
		t.Fatal(err)
	}
	defer reader.Close()
	if err := reader.Conn().Exec(ctx, "RENAME TABLE ration.audit TO ration.audit_hidden"); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := reader.Conn().Exec(ctx, "RENAME TABLE ration.audit_hidden TO ration.audit"); err != nil {
			t.Errorf("restore the audit table: %v", err)
		}
	}()
	if _, err := s.api.Mark(ctx, []string{"dash00000"}, "normal"); err != nil {
		t.Fatal(err)
	}
	await(t, time.Minute, "a failed insert into the hidden table", func() (bool, string) {
		fams, err := scrapeMetrics(s.addrs.API + "/metrics")
		if err != nil {
			return false, err.Error()
		}
		_, ok := fams["ration_sink_insert_errors_total"]
		return ok, "no ration_sink_insert_errors_total"
	})
}

func scrapeMetrics(url string) (map[string]*dto.MetricFamily, error) {
	resp, err := http.Get(url)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	return p.TextToMetricFamilies(resp.Body)
}

// TestDashboardQueryParsing pins down what dashboardQuery reads from an
// expression: metric names with the labels their selectors match, and the
// labels it groups by; functions, keywords, numbers, durations, strings
// and Grafana's variables are none of these.
func TestDashboardQueryParsing(t *testing.T) {
	for _, tc := range []struct {
		expr     string
		metrics  map[string][]string
		grouping []string
	}{
		{
			expr:     `histogram_quantile(0.99, sum by (pipeline, stage, le) (rate(ration_stage_commit_seconds_bucket{pipeline=~"$pipeline", stage=~"${stage}"}[$__rate_interval])))`,
			metrics:  map[string][]string{"ration_stage_commit_seconds_bucket": {"pipeline", "stage"}},
			grouping: []string{"pipeline", "stage", "le"},
		},
		{
			expr:    `max(time() - ration_buckets_sampled_timestamp_seconds) > 1e3 and on() vector(1) offset 5m`,
			metrics: map[string][]string{"ration_buckets_sampled_timestamp_seconds": nil},
		},
		{
			expr:     `sum by (route) (rate(a_total{route=~"POST /v1/x.*", code!="5}"}[1h])) / ignoring(code) group_left sum without (code) (b)`,
			metrics:  map[string][]string{"a_total": {"route", "code"}, "b": nil},
			grouping: []string{"route", "code", "code"},
		},
		{
			expr:     `label_values(ration_stage_members{pipeline=~"$pipeline"}, stage)`,
			metrics:  map[string][]string{"ration_stage_members": {"pipeline", "stage"}},
			grouping: nil,
		},
	} {
		q := dashboardQuery(tc.expr)
		if len(q.metrics) != len(tc.metrics) {
			t.Errorf("%s: metrics %v, want %v", tc.expr, q.metrics, tc.metrics)
		}
		for m, labels := range tc.metrics {
			if got, ok := q.metrics[m]; !ok || !slices.Equal(got, labels) {
				t.Errorf("%s: %s with labels %v, want %v", tc.expr, m, got, labels)
			}
		}
		if !slices.Equal(q.grouping, tc.grouping) {
			t.Errorf("%s: grouping %v, want %v", tc.expr, q.grouping, tc.grouping)
		}
	}
}

// panelQuery is what one expression of a dashboard asks of the metrics.
type panelQuery struct {
	where    string              // dashboard and panel, for messages
	metrics  map[string][]string // metric name → label names its selector matches
	grouping []string            // labels of by, without, on, ignoring, group_left/right
}

// check reports what q uses that fams do not serve. A histogram counts by
// its series (_bucket, _sum, _count), as PromQL reads it; Prometheus adds
// job and instance to every series.
func (q panelQuery) check(fams map[string]*dto.MetricFamily) []string {
	var problems []string
	known := map[string]bool{"job": true, "instance": true}
	for name, matched := range q.metrics {
		labels, err := servedLabels(fams, name)
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s: %v", q.where, err))
			continue
		}
		for _, l := range matched {
			if !labels[l] && l != "job" && l != "instance" {
				problems = append(problems, fmt.Sprintf("%s: %s has no label %q", q.where, name, l))
			}
		}
		for l := range labels {
			known[l] = true
		}
	}
	for _, l := range q.grouping {
		if !known[l] {
			problems = append(problems, fmt.Sprintf("%s: groups by %q, a label none of its metrics has", q.where, l))
		}
	}
	return problems
}

// servedLabels returns the label names of the series name, or why there
// are none.
func servedLabels(fams map[string]*dto.MetricFamily, name string) (map[string]bool, error) {
	labelsOf := func(f *dto.MetricFamily) map[string]bool {
		labels := make(map[string]bool)
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = true
			}
		}
		return labels
	}
	if f, ok := fams[name]; ok {
		if t := f.GetType(); t == dto.MetricType_HISTOGRAM || t == dto.MetricType_SUMMARY {
			return nil, fmt.Errorf("%s is a %s: query its _bucket, _sum or _count", name, t)
		}
		return labelsOf(f), nil
	}
	for _, suffix := range []string{"_bucket", "_sum", "_count"} {
		base, ok := strings.CutSuffix(name, suffix)
		if !ok {
			continue
		}
		f, ok := fams[base]
		switch {
		case ok && f.GetType() == dto.MetricType_HISTOGRAM:
			labels := labelsOf(f)
			if suffix == "_bucket" {
				labels["le"] = true
			}
			return labels, nil
		case ok && f.GetType() == dto.MetricType_SUMMARY && suffix != "_bucket":
			return labelsOf(f), nil
		}
	}
	return nil, fmt.Errorf("%s is not served", name)
}

// dashboardQueries reads every expression of every dashboard in dir: the
// panels' targets (rows' panels too) and the query variables.
func dashboardQueries(t *testing.T, dir string) []panelQuery {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no dashboards in %s: %v", dir, err)
	}
	var out []panelQuery
	for _, file := range files {
		d, err := grafana.Read(file)
		if err != nil {
			t.Fatal(err)
		}
		name := filepath.Base(file)
		add := func(where, expr string) {
			q := dashboardQuery(expr)
			q.where = where
			if len(q.metrics) == 0 {
				t.Errorf("%s: %q queries no metric", where, expr)
			}
			out = append(out, q)
		}
		for _, p := range d.Panels {
			if len(p.Targets) == 0 {
				t.Errorf("%s: panel %q has no query", name, p.Title)
			}
			for _, tg := range p.Targets {
				add(fmt.Sprintf("%s panel %q", name, p.Title), tg.Expr)
			}
		}
		for _, v := range d.Variables {
			if v.Type == "query" {
				add(fmt.Sprintf("%s variable %s", name, v.Name), v.Query)
			}
		}
	}
	return out
}

var (
	// labelValuesCall is Grafana's label_values(EXPR, LABEL) variable query.
	labelValuesCall = regexp.MustCompile(`^\s*label_values\((.*),\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\)\s*$`)
	// groupingWords take a parenthesized list of labels.
	groupingWords = map[string]bool{"by": true, "without": true, "on": true, "ignoring": true, "group_left": true, "group_right": true}
	// promqlWords are PromQL's keywords that are not followed by "(".
	promqlWords = map[string]bool{"and": true, "or": true, "unless": true, "bool": true, "offset": true,
		"inf": true, "nan": true, "group_left": true, "group_right": true}
)

// dashboardQuery reads the metrics and grouping labels of one PromQL
// expression (or Grafana label_values variable query). It is no parser:
// it tells apart what a dashboard expression holds, identifiers followed
// by "(" (functions, aggregations), keywords, numbers and durations,
// strings, selectors' braces and ranges' brackets.
func dashboardQuery(expr string) panelQuery {
	q := panelQuery{metrics: make(map[string][]string)}
	if m := labelValuesCall.FindStringSubmatch(expr); m != nil {
		q = dashboardQuery(m[1])
		for name := range q.metrics {
			q.metrics[name] = append(q.metrics[name], m[2])
		}
		return q
	}
	s := expr
	isIdentStart := func(c byte) bool { return c == '_' || c == ':' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }
	isIdent := func(c byte) bool { return isIdentStart(c) || '0' <= c && c <= '9' }
	skipSpace := func(i int) int {
		for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n') {
			i++
		}
		return i
	}
	// skipString returns the index after the string literal at i.
	skipString := func(i int) int {
		quote := s[i]
		for i++; i < len(s) && s[i] != quote; i++ {
			if s[i] == '\\' && quote != '`' {
				i++
			}
		}
		return i + 1
	}
	ident := func(i int) (string, int) {
		j := i
		for j < len(s) && isIdent(s[j]) {
			j++
		}
		return s[i:j], j
	}
	last := "" // the metric whose selector braces may follow
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '"' || c == '\'' || c == '`':
			i, last = skipString(i), ""
		case c == '[':
			for i < len(s) && s[i] != ']' {
				i++
			}
			i++
		case c == '{':
			// Matchers: LABEL OP "VALUE", comma-separated.
			i++
			for {
				i = skipSpace(i)
				if i >= len(s) || s[i] == '}' {
					i++
					break
				}
				if s[i] == ',' {
					i++
					continue
				}
				if !isIdentStart(s[i]) {
					i++
					continue
				}
				var label string
				label, i = ident(i)
				if last != "" {
					q.metrics[last] = append(q.metrics[last], label)
				}
				for i = skipSpace(i); i < len(s) && strings.IndexByte("=!~", s[i]) >= 0; i++ {
				}
				if i = skipSpace(i); i < len(s) && strings.IndexByte("\"'`", s[i]) >= 0 {
					i = skipString(i)
				}
			}
			last = ""
		case '0' <= c && c <= '9' || c == '.':
			for i < len(s) && (isIdent(s[i]) || s[i] == '.' || (s[i] == '+' || s[i] == '-') && (s[i-1] == 'e' || s[i-1] == 'E')) {
				i++
			}
			last = ""
		case isIdentStart(c):
			var word string
			word, i = ident(i)
			next := skipSpace(i)
			followedByParen := next < len(s) && s[next] == '('
			if nextWord, _ := ident(next); nextWord == "by" || nextWord == "without" {
				followedByParen = true // an aggregation: sum by (l) (x)
			}
			lower := strings.ToLower(word)
			switch {
			case groupingWords[lower] && followedByParen:
				end := strings.IndexByte(s[next:], ')')
				if end < 0 {
					end = len(s) - next
				}
				for _, l := range strings.Split(s[next+1:next+end], ",") {
					if l = strings.TrimSpace(l); l != "" {
						q.grouping = append(q.grouping, l)
					}
				}
				i, last = next+end+1, ""
			case followedByParen || promqlWords[lower] || groupingWords[lower]:
				last = ""
			default:
				if _, ok := q.metrics[word]; !ok {
					q.metrics[word] = nil
				}
				last = word
			}
		default:
			i++
			if c != ' ' {
				last = ""
			}
		}
	}
	return q
}
