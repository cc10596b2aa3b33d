package pipeline

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/rationhq/ration/internal/kafkaconn"
	"github.com/rationhq/ration/processor"
)

func nop(Env) (processor.Handler, error) {
	return processor.HandlerFunc(func(context.Context, *kgo.Record, processor.State) ([]*kgo.Record, error) {
		return nil, nil
	}), nil
}

// twoStages is a pipeline of two stages with retries each (the shape whose
// delay topics and delayer groups once came apart) and a view.
func twoStages() Descriptor {
	return Descriptor{
		Name:   "orders",
		Topics: []Topic{{Name: "orders.in"}, {Name: "orders.mid"}, {Name: "orders.out"}, {Name: "orders.totals", Compact: true}},
		Stages: []Stage{
			{Name: "a", Inputs: []string{"orders.in"}, Outputs: []string{"orders.mid"}, Handler: nop, Retry: []time.Duration{time.Second, time.Minute}},
			{Name: "b", Inputs: []string{"orders.mid"}, Outputs: []string{"orders.out"}, Handler: nop, Retry: []time.Duration{time.Second}, Hold: true, State: true, Interactive: true},
			{Name: "totals", Inputs: []string{"orders.out", "ration.orders.events"}, Outputs: []string{"orders.totals"}, Handler: nop, State: true, View: true},
		},
	}
}

func TestValidateAcceptsAPipeline(t *testing.T) {
	if err := twoStages().Validate(); err != nil {
		t.Fatal(err)
	}
}

// TestValidateRefuses: each descriptor breaks one rule and is refused,
// saying which.
func TestValidateRefuses(t *testing.T) {
	for _, tc := range []struct {
		name, want string
		breakIt    func(d *Descriptor)
	}{
		{"bad pipeline name", "a name is", func(d *Descriptor) { d.Name = "Orders" }},
		{"bad stage name", "a name is", func(d *Descriptor) { d.Stages[0].Name = "a.b" }},
		{"stage twice", "declared twice", func(d *Descriptor) { d.Stages[1].Name = "a" }},
		{"topic twice", "declared twice", func(d *Descriptor) { d.Topics = append(d.Topics, Topic{Name: "orders.in"}) }},
		{"no inputs", "needs inputs", func(d *Descriptor) { d.Stages[0].Inputs = nil }},
		{"no handler", "needs inputs and a handler", func(d *Descriptor) { d.Stages[0].Handler = nil }},
		{"view with retries", "a view has no retries", func(d *Descriptor) { d.Stages[2].Retry = []time.Duration{time.Second} }},
		{"view with priority", "none has priority", func(d *Descriptor) { d.Stages[2].Priority = true }},
		{"priority of one input", "needs a second input", func(d *Descriptor) { d.Stages[0].Priority = true }},
		{"hold without retries", "holding a key needs retries", func(d *Descriptor) { d.Stages[1].Retry = nil }},
		{"foreign topic", "is not one of the pipeline's", func(d *Descriptor) { d.Stages[0].Outputs = []string{"elsewhere"} }},
		{"input nobody writes", "no earlier stage's output", func(d *Descriptor) { d.Stages[1].Inputs = []string{"orders.in"} }},
		{"runtime prefix", "runtime prefix", func(d *Descriptor) { d.Topics = append(d.Topics, Topic{Name: "ration.orders.a.extra"}) }},
		{"no stage", "no stage", func(d *Descriptor) { d.Stages = nil }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := twoStages()
			tc.breakIt(&d)
			err := d.Validate()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Validate() = %v, want an error saying %q", err, tc.want)
			}
		})
	}
}

// TestStagesShareNoRuntimeName: every name the runtime uses for a stage
// (group, transactional ids, delay tiers and their groups, parked, dead
// letters, changelog) is the stage's own, so a record delayed in one stage
// comes back to that stage alone.
func TestStagesShareNoRuntimeName(t *testing.T) {
	d := twoStages()
	owner := make(map[string]string)
	claim := func(stage, name string) {
		t.Helper()
		if other, ok := owner[name]; ok && other != stage {
			t.Fatalf("%s is used by stages %s and %s", name, other, stage)
		}
		owner[name] = stage
		if !strings.HasPrefix(name, "ration.orders."+stage) {
			t.Fatalf("%s of stage %s is not under ration.orders.%s", name, stage, stage)
		}
	}
	for _, s := range d.Stages {
		c, err := d.StageConfig(s.Name, processor.DefaultTuning())
		if err != nil {
			t.Fatal(err)
		}
		claim(s.Name, c.Group)
		claim(s.Name, c.TransactionalIDPrefix)
		claim(s.Name, c.DeadLetterTopic)
		if c.Retry != nil {
			for _, tier := range c.Retry.DelayTopics {
				claim(s.Name, tier)
			}
			claim(s.Name, c.Retry.ParkedTopic)
			claim(s.Name, d.DelayGroupPrefix(s.Name))
		}
		if c.ChangelogTopic != "" {
			claim(s.Name, c.ChangelogTopic)
		}
	}
}

// TestStageConfigFollowsTheDescriptor: the last stage of the item's path
// writes PROCESSED, a view writes no events and runs a lane per bucket,
// tiers come from the descriptor unless the tuning overrides them, a
// changelog exists where there is state or retries, and an interactive
// stage does not linger.
func TestStageConfigFollowsTheDescriptor(t *testing.T) {
	d := twoStages()
	config := func(stage string, tn processor.Tuning) processor.Config {
		t.Helper()
		c, err := d.StageConfig(stage, tn)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	a, b, totals := config("a", processor.DefaultTuning()), config("b", processor.DefaultTuning()), config("totals", processor.DefaultTuning())
	if a.Last || !b.Last {
		t.Errorf("Last: a %v, b %v; want b alone (the view is not on the path)", a.Last, b.Last)
	}
	if totals.EventsTopic != "" || !totals.LanesByPartition || totals.Retry != nil {
		t.Errorf("view: events %q, lanes by partition %v, retry %v", totals.EventsTopic, totals.LanesByPartition, totals.Retry)
	}
	if a.EventsTopic != "ration.orders.events" || a.ChangelogTopic != "ration.orders.a.changelog" {
		t.Errorf("a: events %q, changelog %q", a.EventsTopic, a.ChangelogTopic)
	}
	if !slices.Equal(a.Retry.DelayTopics, []string{"ration.orders.a.delay.1", "ration.orders.a.delay.2"}) || !b.Retry.Hold {
		t.Errorf("a's tiers %v, b holds %v", a.Retry.DelayTopics, b.Retry.Hold)
	}
	if a.BatchLinger != processor.DefaultTuning().BatchLinger || a.BatchLinger == 0 || b.BatchLinger != 0 {
		t.Errorf("batch linger: a %v, the interactive b %v; want the tuning's and 0", a.BatchLinger, b.BatchLinger)
	}
	more := d.WithRetryDelays([]time.Duration{time.Millisecond, 2 * time.Millisecond, 3 * time.Millisecond})
	c, err := more.StageConfig("a", processor.DefaultTuning())
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Retry.DelayTopics; len(got) != 3 || !slices.Contains(topicNames(more.TopicSpecs()), got[2]) {
		t.Errorf("overridden tiers: %v, want 3, each a topic to create", got)
	}
	if d.Stages[0].Retry[0] != time.Second || more.Stages[2].Retry != nil {
		t.Error("WithRetryDelays changed the original, or gave a view tiers")
	}
	if _, err := d.StageConfig("c", processor.DefaultTuning()); err == nil {
		t.Error("a stage that does not exist has a config")
	}
}

// TestTopicSpecsListEveryTopic: an admin creates the pipeline's own
// topics as declared, its events topic and each stage's runtime topics,
// changelogs compacted.
func TestTopicSpecsListEveryTopic(t *testing.T) {
	compact := make(map[string]bool)
	for _, s := range twoStages().TopicSpecs() {
		compact[s.Name] = s.Compact
	}
	want := map[string]bool{
		"orders.in": false, "orders.mid": false, "orders.out": false, "orders.totals": true, "ration.orders.events": false,
		"ration.orders.a.dead": false, "ration.orders.a.delay.1": false, "ration.orders.a.delay.2": false,
		"ration.orders.a.parked": false, "ration.orders.a.changelog": true,
		"ration.orders.b.dead": false, "ration.orders.b.delay.1": false, "ration.orders.b.parked": false, "ration.orders.b.changelog": true,
		"ration.orders.totals.dead": false, "ration.orders.totals.changelog": true,
	}
	for name, c := range want {
		got, ok := compact[name]
		if !ok || got != c {
			t.Errorf("%s: listed %v, compacted %v; want compacted %v", name, ok, got, c)
		}
	}
	if len(compact) != len(want) {
		t.Errorf("%d topics, want %d: %v", len(compact), len(want), compact)
	}
}

func topicNames(specs []kafkaconn.TopicSpec) []string {
	names := make([]string, len(specs))
	for i, s := range specs {
		names[i] = s.Name
	}
	return names
}
