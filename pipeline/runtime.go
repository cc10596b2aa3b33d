package pipeline

import (
	"fmt"
	"slices"
	"time"

	"github.com/rationhq/ration/internal/kafkaacl"
	"github.com/twmb/franz-go/pkg/kadm"

	"github.com/rationhq/ration/processor"
)

// StageConfig is the runtime's configuration of one worker of stage, its
// names derived and its tuning given.
func (d Descriptor) StageConfig(stage string, t processor.Tuning) (processor.Config, error) {
	s, ok := d.Stage(stage)
	if !ok {
		return processor.Config{}, fmt.Errorf("pipeline %s has no stage %q (stages: %v)", d.Name, stage, d.StageNames())
	}
	c := processor.Config{
		Tuning:                t,
		Pipeline:              d.Name,
		Name:                  s.Name,
		Group:                 d.Group(s.Name),
		TransactionalIDPrefix: d.TransactionalIDPrefix(s.Name),
		Topics:                slices.Clone(s.Inputs),
		Priority:              s.Priority,
		DeadLetterTopic:       d.DeadTopic(s.Name),
		State:                 s.State,
		LanesByPartition:      s.View,
	}
	if s.Interactive {
		c.BatchLinger = 0
	}
	if !s.View {
		c.EventsTopic = d.EventsTopic()
		c.Last = s.Name == d.last()
	}
	if s.Retry != nil {
		c.Retry = &processor.Retry{
			Delays:      slices.Clone(s.Retry),
			DelayTopics: d.DelayTopics(s.Name, len(s.Retry)),
			ParkedTopic: d.ParkedTopic(s.Name),
			Hold:        s.Hold,
		}
	}
	if s.Retry != nil || s.State {
		c.ChangelogTopic = d.ChangelogTopic(s.Name)
	}
	return c, nil
}

// WithRetryDelays returns d with delays as the delay tiers of every stage
// that has tiers (none: d as it is): what --retry-delays does, applied to
// the descriptor so that the topics created, the grants and the stages
// all have the same tiers.
func (d Descriptor) WithRetryDelays(delays []time.Duration) Descriptor {
	if len(delays) == 0 {
		return d
	}
	d.Stages = slices.Clone(d.Stages)
	for i := range d.Stages {
		if d.Stages[i].Retry != nil {
			d.Stages[i].Retry = slices.Clone(delays)
		}
	}
	return d
}

// StageNames lists the stages and views, in order.
func (d Descriptor) StageNames() []string {
	names := make([]string, len(d.Stages))
	for i, s := range d.Stages {
		names[i] = s.Name
	}
	return names
}

// WorkerGrants are what a worker registered for the pipeline may do on
// Kafka (package kafkaacl), for any of its stages: Read on a stage's
// inputs and group; Write on its outputs, the events topic and its dead
// letters; with retries, Read and Write on its delay tiers (by prefix, so a
// worker may run more tiers), Read on its delayers' groups, Write on its
// parked topic and on its inputs (the delayers return records there);
// with retries or state, Read and Write on its changelog; Write and
// Describe on its transactional ids (by prefix). Nothing else: no Create,
// no other pipeline's topics, no other stage's transactional ids.
func (d Descriptor) WorkerGrants() []kafkaacl.Grant {
	read, write := []kadm.ACLOperation{kadm.OpRead}, []kadm.ACLOperation{kadm.OpWrite}
	readWrite := []kadm.ACLOperation{kadm.OpRead, kadm.OpWrite}
	topic := func(name string, ops []kadm.ACLOperation) kafkaacl.Grant {
		return kafkaacl.Grant{Resource: kafkaacl.Topic, Name: name, Ops: ops}
	}
	var gs []kafkaacl.Grant
	for _, s := range d.Stages {
		for _, in := range s.Inputs {
			gs = append(gs, topic(in, read))
		}
		for _, out := range s.Outputs {
			gs = append(gs, topic(out, write))
		}
		gs = append(gs,
			kafkaacl.Grant{Resource: kafkaacl.Group, Name: d.Group(s.Name), Ops: read},
			kafkaacl.Grant{Resource: kafkaacl.TransactionalID, Name: d.TransactionalIDPrefix(s.Name), Prefixed: true,
				Ops: []kadm.ACLOperation{kadm.OpWrite, kadm.OpDescribe}},
			topic(d.DeadTopic(s.Name), write),
		)
		if !s.View {
			gs = append(gs, topic(d.EventsTopic(), write))
		}
		if s.Retry != nil {
			gs = append(gs,
				kafkaacl.Grant{Resource: kafkaacl.Topic, Name: d.stagePrefix(s.Name) + "delay.", Prefixed: true, Ops: readWrite},
				kafkaacl.Grant{Resource: kafkaacl.Group, Name: d.DelayGroupPrefix(s.Name), Prefixed: true, Ops: read},
				topic(d.ParkedTopic(s.Name), write),
			)
			for _, in := range s.Inputs {
				gs = append(gs, topic(in, write))
			}
		}
		if s.Retry != nil || s.State {
			gs = append(gs, topic(d.ChangelogTopic(s.Name), readWrite))
		}
	}
	return kafkaacl.Merge(gs)
}

// Grants are the worker grants of every pipeline of ds.
func Grants(ds []Descriptor) kafkaacl.Pipelines {
	out := make(kafkaacl.Pipelines, len(ds))
	for _, d := range ds {
		out[d.Name] = d.WorkerGrants()
	}
	return out
}

// NewStages builds one worker of each of stages (all of the pipeline's,
// in order, if none are named): what `ration worker <pipeline>` runs.
// Each stage gets its own state store.
func (d Descriptor) NewStages(stages []string, t processor.Tuning, deps processor.Deps, env Env) ([]*processor.Stage, error) {
	if len(stages) == 0 {
		stages = d.StageNames()
	}
	env.InstanceID = t.InstanceID
	var out []*processor.Stage
	for _, name := range stages {
		cfg, err := d.StageConfig(name, t)
		if err != nil {
			return nil, err
		}
		s, _ := d.Stage(name)
		h, err := s.Handler(env)
		if err != nil {
			return nil, fmt.Errorf("pipeline %s stage %s: %w", d.Name, name, err)
		}
		st, err := processor.New(cfg, h, deps)
		if err != nil {
			return nil, fmt.Errorf("pipeline %s stage %s: %w", d.Name, name, err)
		}
		out = append(out, st)
	}
	return out, nil
}
