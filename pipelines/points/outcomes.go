package points

import (
	"log/slog"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/rationhq/ration/internal/kafkatable"
	"github.com/rationhq/ration/schemas"
)

// outcomes hands the ledger's outcomes to the requests waiting for them.
// Every API process follows the outcomes topic from the time it started,
// so a command's answer reaches the process that took it whichever worker
// decided it.
type outcomes struct {
	mu      sync.Mutex
	waiting map[string][]chan Outcome // by group and command id
}

func newOutcomes() *outcomes { return &outcomes{waiting: make(map[string][]chan Outcome)} }

func waitKey(group, id string) string { return group + "\x00" + id }

// wait returns a channel that gets the outcome of command id of group,
// and how to stop waiting. Call it before sending the command.
func (w *outcomes) wait(group, id string) (<-chan Outcome, func()) {
	ch := make(chan Outcome, 1)
	k := waitKey(group, id)
	w.mu.Lock()
	w.waiting[k] = append(w.waiting[k], ch)
	w.mu.Unlock()
	return ch, func() {
		w.mu.Lock()
		defer w.mu.Unlock()
		chs := w.waiting[k]
		for i, c := range chs {
			if c == ch {
				chs = append(chs[:i], chs[i+1:]...)
				break
			}
		}
		if len(chs) == 0 {
			delete(w.waiting, k)
		} else {
			w.waiting[k] = chs
		}
	}
}

// deliver gives o to everyone waiting for it.
func (w *outcomes) deliver(o Outcome) {
	k := waitKey(o.GroupID, o.ID)
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, ch := range w.waiting[k] {
		select {
		case ch <- o:
		default: // it has one already
		}
	}
}

// followSkew is how far before its start the follower reads, so that an
// outcome stamped by a worker whose clock runs behind is not missed.
const followSkew = time.Minute

// follower returns the follower that delivers outcomes.
func (w *outcomes) follower(codec *schemas.Codec, log *slog.Logger, opts ...kgo.Opt) *kafkatable.Follower {
	return kafkatable.New(TopicOutcomes, func(rec *kgo.Record) {
		var o Outcome
		if err := codec.Decode(rec.Value, &o); err != nil {
			log.Error("outcome skipped", "partition", rec.Partition, "offset", rec.Offset, "err", err)
			return
		}
		w.deliver(o)
	}, log, opts...).Since(time.Now().Add(-followSkew))
}
