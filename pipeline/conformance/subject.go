package conformance

import (
	"errors"
	"regexp"
	"slices"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/rationhq/ration/pipeline"
	"github.com/rationhq/ration/schemas"
)

// Subject is a pipeline under test.
type Subject struct {
	// Name names the subject in worker processes: Child finds the
	// subject to run by it.
	Name string
	// Pipeline returns a fresh descriptor with its options set for the
	// test. It is called in worker processes too, so what it depends on
	// (a test server's URL, say) must reach them: through the
	// environment, which they inherit.
	Pipeline func() pipeline.Descriptor
	// Input returns the seq-th item (from 0) of key, a record for the
	// first stage's input, keyed by key.
	Input func(codec *schemas.Codec, key string, seq int) (*kgo.Record, error)
	// Output is the topic of the pipeline's final outputs.
	Output string
	// Read returns the key and seq of the item a final output answers.
	Read func(codec *schemas.Codec, r *kgo.Record) (key string, seq int, err error)
	// Partitions of every topic (buckets of every stage). Default 6.
	Partitions int32
	// Verify, if set, runs at the end of each check with the items that
	// came out on the final topic (key to count: seqs 0..n-1 of each):
	// it checks what the pipeline did outside Kafka, such as side effects
	// applied once each through idempotency keys.
	Verify func(t *testing.T, done map[string]int)
}

var subjectName = regexp.MustCompile(`^[A-Za-z0-9._-]+$`)

func (s *Subject) setDefaults() {
	if s.Partitions == 0 {
		s.Partitions = 6
	}
}

// Validate reports a subject the suite cannot run.
func (s Subject) Validate() error {
	switch {
	case !subjectName.MatchString(s.Name):
		return errors.New("conformance: a subject's name is letters, digits, '.', '_' or '-'")
	case s.Pipeline == nil || s.Input == nil || s.Read == nil:
		return errors.New("conformance: a subject needs Pipeline, Input and Read")
	case s.Output == "":
		return errors.New("conformance: a subject needs its Output topic")
	case s.Partitions < 1:
		return errors.New("conformance: partitions < 1")
	}
	return nil
}

// tierDelay is the first of the short delay tiers the suite gives every
// stage with retries; each further tier doubles it.
const tierDelay = 20 * time.Millisecond

// descriptor returns the subject's pipeline as the suite runs it: each
// stage's delay tiers shortened (as many as it had), and, with f, the
// handler of every stage with retries wrapped in f's fault injector.
func (s Subject) descriptor(f *faults) pipeline.Descriptor {
	d := s.Pipeline()
	d.Stages = slices.Clone(d.Stages)
	for i, st := range d.Stages {
		if st.Retry == nil {
			continue
		}
		delays := make([]time.Duration, len(st.Retry))
		for tier := range delays {
			delays[tier] = tierDelay << tier
		}
		st.Retry = delays
		if f != nil && !st.View {
			st.Handler = f.wrapConstructor(st.Name, len(delays), st.Handler)
		}
		d.Stages[i] = st
	}
	return d
}

// retryStages names the stages of d with retries, in order.
func retryStages(d pipeline.Descriptor) []string {
	var out []string
	for _, st := range d.Stages {
		if st.Retry != nil && !st.View {
			out = append(out, st.Name)
		}
	}
	return out
}
