package processor

import (
	"sync"

	"github.com/twmb/franz-go/pkg/kgo"
)

// priority decides, batch by batch, which input topics may be fetched.
//
// It needs to know whether each owned partition has a backlog. Fetches
// alone cannot tell: the client fetches again only when its buffer is
// drained, and a fetch full of one topic may carry nothing of another. So
// the stage also asks for the end offsets of its topics every
// PriorityCheckInterval and reports them with ends.
type priority struct {
	mu     sync.Mutex
	high   string
	others []string
	share  int
	turn   int
	parts  map[tp]*partState
}

type tp struct {
	topic     string
	partition int32
}

type partState struct {
	pos   int64 // next offset to process
	end   int64 // last known end (stable) offset
	floor int64 // a poll found nothing below this offset (transaction markers)
}

func (s *partState) backlog() bool { return s.end > max(s.pos, s.floor) }

func newPriority(topics []string, share int) *priority {
	return &priority{high: topics[0], others: topics[1:], share: share, parts: make(map[tp]*partState)}
}

// assign starts tracking newly owned partitions.
func (p *priority) assign(parts map[string][]int32) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for t, ps := range parts {
		for _, part := range ps {
			if p.parts[tp{t, part}] == nil {
				p.parts[tp{t, part}] = new(partState)
			}
		}
	}
}

// forget stops tracking partitions this worker no longer owns.
func (p *priority) forget(parts map[string][]int32) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for t, ps := range parts {
		for _, part := range ps {
			delete(p.parts, tp{t, part})
		}
	}
}

// ownedExcept returns the owned partitions that are not in except.
func (p *priority) ownedExcept(except map[string][]int32) map[string][]int32 {
	p.mu.Lock()
	defer p.mu.Unlock()
	skip := make(map[tp]bool)
	for t, ps := range except {
		for _, part := range ps {
			skip[tp{t, part}] = true
		}
	}
	out := make(map[string][]int32)
	for k := range p.parts {
		if !skip[k] {
			out[k.topic] = append(out[k.topic], k.partition)
		}
	}
	return out
}

// observe records the positions and ends that a poll showed.
func (p *priority) observe(fs kgo.Fetches) {
	p.mu.Lock()
	defer p.mu.Unlock()
	fs.EachPartition(func(fp kgo.FetchTopicPartition) {
		s := p.parts[tp{fp.Topic, fp.Partition}]
		if s == nil || fp.Err != nil || len(fp.Records) == 0 {
			return
		}
		s.pos = max(s.pos, fp.Records[len(fp.Records)-1].Offset+1)
		end := fp.LastStableOffset
		if end < 0 {
			end = fp.HighWatermark
		}
		s.end = max(s.end, end)
	})
}

// unreached returns the partitions of parts that fs brought no records of
// although they are still owned and have a backlog.
func (p *priority) unreached(parts map[string][]int32, fs kgo.Fetches) map[string][]int32 {
	p.mu.Lock()
	defer p.mu.Unlock()
	reached := make(map[tp]bool)
	fs.EachPartition(func(fp kgo.FetchTopicPartition) {
		if len(fp.Records) > 0 {
			reached[tp{fp.Topic, fp.Partition}] = true
		}
	})
	out := make(map[string][]int32)
	for t, ps := range parts {
		for _, part := range ps {
			k := tp{t, part}
			if s := p.parts[k]; s != nil && !reached[k] && s.backlog() {
				out[t] = append(out[t], part)
			}
		}
	}
	return out
}

// positions records committed or polled offsets, e.g. after an assignment.
func (p *priority) positions(offsets map[string]map[int32]kgo.EpochOffset) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for t, ps := range offsets {
		for part, eo := range ps {
			if s := p.parts[tp{t, part}]; s != nil {
				s.pos = max(s.pos, eo.Offset)
			}
		}
	}
}

// ends records the end offsets of topics' partitions.
func (p *priority) ends(ends map[string]map[int32]int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for t, ps := range ends {
		for part, end := range ps {
			if s := p.parts[tp{t, part}]; s != nil {
				s.end = max(s.end, end)
			}
		}
	}
}

// drained records that a poll restricted to topics returned nothing: what
// remains below their known ends is not records (transaction markers).
func (p *priority) drained(topics []string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for k, s := range p.parts {
		for _, t := range topics {
			if k.topic == t {
				s.floor = s.end
			}
		}
	}
}

func (p *priority) backlog(topic string) bool {
	for k, s := range p.parts {
		if k.topic == topic && s.backlog() {
			return true
		}
	}
	return false
}

// next returns the topics to pause and to resume for the next batch. While
// both the high topic and another have a backlog, the high topic gets
// share-1 batches out of share; otherwise every topic is fetched.
func (p *priority) next() (pause, resume []string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	othersWaiting := false
	for _, t := range p.others {
		othersWaiting = othersWaiting || p.backlog(t)
	}
	if !p.backlog(p.high) || !othersWaiting {
		p.turn = 0
		return nil, append([]string{p.high}, p.others...)
	}
	p.turn++
	if p.turn%p.share == 0 {
		return []string{p.high}, p.others
	}
	return p.others, []string{p.high}
}
