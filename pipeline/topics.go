package pipeline

import (
	"github.com/rationhq/ration/internal/kafkaconn"
	"github.com/rationhq/ration/schemas"
	"github.com/rationhq/ration/sink"
)

// TopicSpecs lists every topic the pipeline uses: its own, its events
// topic and each stage's runtime topics (dead letters; with retries the
// delay tiers and the parked topic; with retries or state the changelog).
// All have one partition count, so partition p of each is bucket p.
func (d Descriptor) TopicSpecs() []kafkaconn.TopicSpec {
	var out []kafkaconn.TopicSpec
	for _, t := range d.Topics {
		out = append(out, kafkaconn.TopicSpec{Name: t.Name, Compact: t.Compact, Retention: t.Retention})
	}
	out = append(out, kafkaconn.TopicSpec{Name: d.EventsTopic()})
	for _, s := range d.Stages {
		out = append(out, kafkaconn.TopicSpec{Name: d.DeadTopic(s.Name)})
		if s.Retry != nil {
			for _, t := range d.DelayTopics(s.Name, len(s.Retry)) {
				out = append(out, kafkaconn.TopicSpec{Name: t})
			}
			out = append(out, kafkaconn.TopicSpec{Name: d.ParkedTopic(s.Name)})
		}
		if s.Retry != nil || s.State {
			out = append(out, kafkaconn.TopicSpec{Name: d.ChangelogTopic(s.Name), Compact: true})
		}
	}
	return out
}

// TopicSchemas lists the record type of every topic of the pipeline that
// has one: its own topics with a Value, its events topic, and the delay
// tiers and parked topic of a stage whose inputs share one record type
// (they hold copies of its input records).
func (d Descriptor) TopicSchemas() []schemas.TopicSchema {
	out := []schemas.TopicSchema{{Topic: d.EventsTopic(), Value: new(schemas.Event)}}
	values := make(map[string]schemas.Record)
	for _, t := range d.Topics {
		if t.Value != nil {
			out = append(out, schemas.TopicSchema{Topic: t.Name, Value: t.Value})
			values[t.Name] = t.Value
		}
	}
	for _, s := range d.Stages {
		if s.Retry == nil {
			continue
		}
		v := values[s.Inputs[0]]
		for _, in := range s.Inputs[1:] {
			if w := values[in]; w == nil || v == nil || w.AvroSchema() != v.AvroSchema() {
				v = nil
			}
		}
		if v == nil {
			continue
		}
		for _, t := range append(d.DelayTopics(s.Name, len(s.Retry)), d.ParkedTopic(s.Name)) {
			out = append(out, schemas.TopicSchema{Topic: t, Value: v})
		}
	}
	return out
}

// Schemas is every topic schema and state record type of ds, the shared
// topics' included: what a codec registers.
func Schemas(ds []Descriptor) ([]schemas.TopicSchema, []schemas.Record) {
	topics := schemas.Shared()
	records := []schemas.Record{new(schemas.KeyBlock)}
	for _, d := range ds {
		topics = append(topics, d.TopicSchemas()...)
		records = append(records, d.StateRecords...)
	}
	return topics, records
}

// SinkLayout is what the sink stores of ds: each pipeline's mappings and
// events topic, the audit log, and each pipeline's migrations.
func SinkLayout(ds []Descriptor) sink.Layout {
	l := sink.Layout{Mappings: []sink.Mapping{sink.AuditMapping()}}
	for _, d := range ds {
		l.Mappings = append(l.Mappings, sink.EventsMapping(d.EventsTopic()))
		l.Mappings = append(l.Mappings, d.Sink...)
		if d.Migrations != nil {
			l.Migrations = append(l.Migrations, sink.Migrations{Owner: d.Name, FS: d.Migrations})
		}
	}
	return l
}

// AllTopicSpecs is every topic of ds and the shared ones: what an admin
// role creates at start-up.
func AllTopicSpecs(ds []Descriptor) []kafkaconn.TopicSpec {
	specs := kafkaconn.SharedTopics()
	for _, d := range ds {
		specs = append(specs, d.TopicSpecs()...)
	}
	return specs
}
