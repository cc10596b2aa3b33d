package processor

import (
	"sync"

	"github.com/twmb/franz-go/pkg/kgo"
)

// priority decides, batch by batch, which input topics may be fetched,
// and keeps where each owned partition stands and ends (which new buckets
// have work). Without a high topic every input is fetched.
//
// It needs to know whether each owned partition has a backlog. Fetches
// alone cannot tell: the client fetches again only when its buffer is
// drained, and a fetch full of one topic may carry nothing of another. So
// the stage also asks for the end offsets of its topics every
// PriorityCheckInterval and reports them with ends. Polls return the
// transaction markers too (kgo.KeepControlRecords), so a position passes
// every offset below an end, a marker's included.
type priority struct {
	mu     sync.Mutex
	high   string
	others []string
	share  int
	// done counts the records of the high topic and of the others taken
	// since both last had a backlog: batches vary in size (what the fetch
	// buffer held), so the share is kept in records, not in turns.
	highDone, othersDone int
	// highTurn says whose the last batch was; passOn, that it brought
	// nothing (a slow fetch, or an end that no longer holds), so the next
	// goes to the other class. A backlog that is not there then costs the
	// other class one poll, and cannot stop it.
	highTurn, passOn bool
	parts            map[tp]*partState
}

type tp struct {
	topic     string
	partition int32
}

type partState struct {
	pos int64 // next offset to process
	end int64 // last known end (stable) offset
}

func (s *partState) backlog() bool { return s.end > s.pos }

// newPriority returns the policy of a stage reading topics: with ranked,
// the first is the high one.
func newPriority(topics []string, share int, ranked bool) *priority {
	p := &priority{others: topics, share: share, parts: make(map[tp]*partState)}
	if ranked {
		p.high, p.others = topics[0], topics[1:]
	}
	return p
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

// observe records the positions and ends that a poll showed, and what it
// took of each class.
func (p *priority) observe(fs kgo.Fetches) {
	p.mu.Lock()
	defer p.mu.Unlock()
	fs.EachPartition(func(fp kgo.FetchTopicPartition) {
		n := 0
		for _, r := range fp.Records {
			if !r.Attrs.IsControl() {
				n++
			}
		}
		if fp.Topic == p.high {
			p.highDone += n
		} else {
			p.othersDone += n
		}
		s := p.parts[tp{fp.Topic, fp.Partition}]
		if s == nil || fp.Err != nil || len(fp.Records) == 0 {
			return
		}
		s.pos = max(s.pos, fp.Records[len(fp.Records)-1].Offset+1)
		end := fp.LastStableOffset
		if end < 0 {
			end = fp.HighWatermark
		}
		s.end = end // the log's own word, also when it is less than before
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

// ends records the end offsets of topics' partitions. They replace what
// was known, not just raise it: a log cut back (a broker that lost its
// tail) would otherwise show a backlog that never drains.
func (p *priority) ends(ends map[string]map[int32]int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for t, ps := range ends {
		for part, end := range ps {
			if s := p.parts[tp{t, part}]; s != nil {
				s.end = end
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
// both the high topic and another have a backlog, the others get the next
// batch whenever they have had less than one record in share, else the
// high topic does; otherwise every topic is fetched.
func (p *priority) next() (pause, resume []string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.high == "" {
		return nil, p.others
	}
	othersWaiting := false
	for _, t := range p.others {
		othersWaiting = othersWaiting || p.backlog(t)
	}
	if !p.backlog(p.high) || !othersWaiting {
		p.highDone, p.othersDone = 0, 0
		p.passOn = false
		return nil, append([]string{p.high}, p.others...)
	}
	othersTurn := p.othersDone*(p.share-1) < p.highDone
	if p.passOn {
		othersTurn = p.highTurn
	}
	p.highTurn, p.passOn = !othersTurn, false
	if othersTurn {
		return []string{p.high}, p.others
	}
	return p.others, []string{p.high}
}

// idle records that the batch of the last turn next gave brought nothing.
func (p *priority) idle() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.passOn = true
}
