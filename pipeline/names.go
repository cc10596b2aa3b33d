package pipeline

import "strconv"

// EventsTopic receives the status events of the pipeline's items.
func (d Descriptor) EventsTopic() string { return "ration." + d.Name + ".events" }

// stagePrefix starts every name derived for stage.
func (d Descriptor) stagePrefix(stage string) string { return "ration." + d.Name + "." + stage + "." }

// Group is stage's consumer group.
func (d Descriptor) Group(stage string) string { return "ration." + d.Name + "." + stage }

// TransactionalIDPrefix starts the transactional id of every worker of
// stage (and of its delayers).
func (d Descriptor) TransactionalIDPrefix(stage string) string { return d.stagePrefix(stage) }

// DelayTopic is stage's delay tier tier (from 1).
func (d Descriptor) DelayTopic(stage string, tier int) string {
	return d.stagePrefix(stage) + "delay." + strconv.Itoa(tier)
}

// DelayTopics are stage's first tiers delay tiers.
func (d Descriptor) DelayTopics(stage string, tiers int) []string {
	out := make([]string, 0, tiers)
	for t := 1; t <= tiers; t++ {
		out = append(out, d.DelayTopic(stage, t))
	}
	return out
}

// DelayGroupPrefix starts the consumer groups of stage's delayers.
func (d Descriptor) DelayGroupPrefix(stage string) string { return d.Group(stage) + ".delay." }

// ParkedTopic holds stage's items whose retries are used up.
func (d Descriptor) ParkedTopic(stage string) string { return d.stagePrefix(stage) + "parked" }

// DeadTopic holds the records stage could not process at all.
func (d Descriptor) DeadTopic(stage string) string { return d.stagePrefix(stage) + "dead" }

// ChangelogTopic keeps stage's state and retry loop.
func (d Descriptor) ChangelogTopic(stage string) string { return d.stagePrefix(stage) + "changelog" }
