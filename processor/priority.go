package processor

import (
	"sync"

	"github.com/twmb/franz-go/pkg/kgo"
)

// priority decides, batch by batch, which input topics may be fetched.
// It learns each partition's backlog from the high watermarks of fetches.
type priority struct {
	mu     sync.Mutex
	high   string
	others []string
	share  int
	turn   int
	lag    map[string]map[int32]int64
}

func newPriority(topics []string, share int) *priority {
	return &priority{high: topics[0], others: topics[1:], share: share, lag: make(map[string]map[int32]int64)}
}

// observe records the backlog left behind the records of a poll.
func (p *priority) observe(fs kgo.Fetches) {
	p.mu.Lock()
	defer p.mu.Unlock()
	fs.EachPartition(func(fp kgo.FetchTopicPartition) {
		if fp.Err != nil || len(fp.Records) == 0 {
			return
		}
		end := fp.LastStableOffset
		if end < 0 {
			end = fp.HighWatermark
		}
		next := fp.Records[len(fp.Records)-1].Offset + 1
		p.set(fp.Topic, fp.Partition, max(end-next, 0))
	})
}

func (p *priority) set(topic string, partition int32, lag int64) {
	parts := p.lag[topic]
	if parts == nil {
		parts = make(map[int32]int64)
		p.lag[topic] = parts
	}
	parts[partition] = lag
}

// drained records that a poll restricted to topics returned nothing: their
// remaining backlog, if any, was transaction markers.
func (p *priority) drained(topics []string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, t := range topics {
		delete(p.lag, t)
	}
}

// forget drops what is known of partitions this worker no longer owns.
func (p *priority) forget(lost map[string][]int32) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for t, parts := range lost {
		for _, part := range parts {
			delete(p.lag[t], part)
		}
	}
}

func (p *priority) backlog(topic string) bool {
	for _, lag := range p.lag[topic] {
		if lag > 0 {
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
