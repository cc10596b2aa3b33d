package processor

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// ensureTopics creates the runtime's own topics (RuntimeTopics) that are
// missing, with as many partitions as the first input, the changelogs
// compacted; a worker not allowed to create topics relies on the admin
// having done it. It then checks that every changelog has as many
// partitions as its input: restoring partition p reads changelog
// partition p.
func (s *Stage) ensureTopics(ctx context.Context) error {
	delays, changelogs, others := s.cfg.RuntimeTopics()
	if len(changelogs) == 0 && len(others) == 0 {
		return nil
	}
	cl, err := kgo.NewClient(slices.Clone(s.deps.Kafka)...)
	if err != nil {
		return err
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	inputs, err := adm.ListTopics(ctx, s.cfg.Topics...)
	if err != nil {
		return fmt.Errorf("describe inputs: %w", err)
	}
	first, ok := inputs[s.cfg.Topics[0]]
	if !ok || first.Err != nil {
		return fmt.Errorf("input %s: %v", s.cfg.Topics[0], first.Err)
	}
	n := int32(len(first.Partitions))
	compact := map[string]*string{"cleanup.policy": kadm.StringPtr("compact")}
	for _, c := range []struct {
		configs map[string]*string
		topics  []string
	}{{nil, append(delays, others...)}, {compact, changelogs}} {
		if len(c.topics) == 0 {
			continue
		}
		resps, err := adm.CreateTopics(ctx, n, -1, c.configs, c.topics...)
		if err == nil {
			for _, r := range resps.Sorted() {
				if r.Err != nil && !errors.Is(r.Err, kerr.TopicAlreadyExists) {
					err = errors.Join(err, fmt.Errorf("%s: %w", r.Topic, r.Err))
				}
			}
		}
		if errors.Is(err, kerr.TopicAuthorizationFailed) || errors.Is(err, kerr.ClusterAuthorizationFailed) {
			s.log.Debug("not allowed to create the runtime's topics; the admin creates them", "err", err)
		} else if err != nil {
			return fmt.Errorf("create runtime topics: %w", err)
		}
	}
	if len(changelogs) == 0 {
		return nil
	}
	logs, err := adm.ListTopics(ctx, changelogs...)
	if err != nil {
		return fmt.Errorf("describe changelogs: %w", err)
	}
	for i, input := range s.cfg.Topics {
		in, log := inputs[input], logs[changelogs[i]]
		if log.Err != nil || len(log.Partitions) != len(in.Partitions) {
			return fmt.Errorf("changelog %s must exist with %d partitions like %s (has %d): %v",
				changelogs[i], len(in.Partitions), input, len(log.Partitions), log.Err)
		}
	}
	return nil
}
