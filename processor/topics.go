package processor

import (
	"context"
	"fmt"
	"slices"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// checkTopics refuses to start on topics that cannot work: every input and
// the changelog must exist with one partition count, since partition p of
// each is bucket p. The topics are created by whoever starts the pipeline
// (package pipeline); a worker may not be allowed to.
func (s *Stage) checkTopics(ctx context.Context) error {
	topics := slices.Clone(s.cfg.Topics)
	if s.cfg.ChangelogTopic != "" {
		topics = append(topics, s.cfg.ChangelogTopic)
	}
	bucketed := len(topics) // the rest need only exist
	if r := s.cfg.Retry; r != nil {
		topics = append(append(topics, r.DelayTopics...), r.ParkedTopic)
	}
	if s.cfg.DeadLetterTopic != "" {
		topics = append(topics, s.cfg.DeadLetterTopic)
	}
	cl, err := kgo.NewClient(slices.Clone(s.deps.Kafka)...)
	if err != nil {
		return err
	}
	defer cl.Close()
	details, err := kadm.NewClient(cl).ListTopics(ctx, topics...)
	if err != nil {
		return fmt.Errorf("describe topics: %w", err)
	}
	want := -1
	for i, t := range topics {
		d, ok := details[t]
		if !ok || d.Err != nil {
			return fmt.Errorf("topic %s: missing (%v); start the pipeline with a role that creates its topics "+
				"(with --retry-delays naming more tiers than the pipeline's, those roles need the same flag)", t, d.Err)
		}
		if i >= bucketed {
			continue
		}
		n := len(d.Partitions)
		if want < 0 {
			want = n
		}
		if n != want {
			return fmt.Errorf("topic %s has %d partitions, %s has %d: a stage's inputs and changelog need one count (partition p of each is bucket p)",
				t, n, topics[0], want)
		}
	}
	return nil
}
