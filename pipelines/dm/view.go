package dm

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/rationhq/ration"
	"github.com/rationhq/ration/processor"
	"github.com/rationhq/ration/schemas"
	"github.com/rationhq/ration/sink"
)

// stateView is the state view's handler: it folds every registration,
// mark, result and status event of a user into the user's Fold, keeps per
// bucket how many users are in each state and an index of the waiting
// ones by mark, and writes each user's new state to ration.dm.states when
// it changes and each bucket's counts to ration.dm.counts once a batch.
// So a read of one user, a page or the stats costs what its answer costs,
// not what the log holds (see docs/DESIGN.md "Reads").
type stateView struct {
	codec  *schemas.Codec
	events string // the pipeline's events topic
}

var (
	_ processor.Handler    = (*stateView)(nil)
	_ processor.BatchEnder = (*stateView)(nil)
)

// Process implements processor.Handler.
func (v *stateView) Process(_ context.Context, rec *kgo.Record, st processor.State) ([]*kgo.Record, error) {
	user, x, ok, err := v.fact(rec)
	if err != nil {
		return nil, processor.Permanent(err)
	}
	if !ok {
		return nil, nil
	}
	var f Fold
	if b, found := st.Get(userPrefix + user); found {
		if err := v.codec.Decode(b, &f); err != nil {
			return nil, fmt.Errorf("fold of %s: %w", user, err)
		}
	}
	wasKnown, before := f.Known, f.user(user)
	f.apply(x)
	if !f.Known {
		// Events alone (a dead letter's FAILED event under a key no user
		// has) make no user; they are kept for when one appears.
		return nil, v.putFold(st, user, &f)
	}
	after := f.user(user)
	if wasKnown && sameUser(before, after) {
		return nil, v.putFold(st, user, &f)
	}
	prev := ration.DMState("")
	if wasKnown {
		prev = before.State
	}
	if err := v.count(st, prev, after.State); err != nil {
		return nil, err
	}
	if wasKnown && waits(before.State) {
		st.Delete(waitingKey(before.MarkedAt.UnixMilli(), user))
	}
	if waits(after.State) {
		st.Put(waitingKey(after.MarkedAt.UnixMilli(), user), nil)
	}
	f.Version++
	f.State = string(after.State)
	if err := v.putFold(st, user, &f); err != nil {
		return nil, err
	}
	out, err := v.codec.Encode(stateRecord(after, prev, f.Version))
	if err != nil {
		return nil, fmt.Errorf("encode state of %s: %w", user, err)
	}
	return []*kgo.Record{{Topic: TopicStates, Key: []byte(user), Value: out}}, nil
}

// EndBatch implements processor.BatchEnder: the bucket's counts and its
// oldest waiting mark, once a batch.
func (v *stateView) EndBatch(_ context.Context, bucket int32, st processor.State) ([]*kgo.Record, error) {
	c, err := v.counts(st)
	if err != nil {
		return nil, err
	}
	c.Bucket = bucket
	c.OldestWaiting = time.Time{}
	if k, _, ok := st.First(waitingPrefix); ok {
		ms, err := strconv.ParseInt(strings.SplitN(strings.TrimPrefix(k, waitingPrefix), "/", 2)[0], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("waiting index key %q: %w", k, err)
		}
		c.OldestWaiting = time.UnixMilli(ms).UTC()
	}
	c.Version++
	b, err := v.codec.Encode(&c)
	if err != nil {
		return nil, err
	}
	st.Put(countsKey, b)
	return []*kgo.Record{{Topic: TopicCounts, Key: []byte(strconv.Itoa(int(bucket))), Value: b}}, nil
}

func (v *stateView) counts(st processor.State) (Counts, error) {
	var c Counts
	if b, ok := st.Get(countsKey); ok {
		if err := v.codec.Decode(b, &c); err != nil {
			return c, fmt.Errorf("counts: %w", err)
		}
	}
	return c, nil
}

// count moves one user from state from ("" for a new user) to to.
func (v *stateView) count(st processor.State, from, to ration.DMState) error {
	if from == to {
		return nil
	}
	c, err := v.counts(st)
	if err != nil {
		return err
	}
	for s, d := range map[ration.DMState]int64{from: -1, to: 1} {
		switch s {
		case ration.DMUnmarked:
			c.Unmarked += d
		case ration.DMPending:
			c.Pending += d
		case ration.DMParked:
			c.Parked += d
		case ration.DMChecked:
			c.Checked += d
		case ration.DMFailed:
			c.Failed += d
		}
	}
	b, err := v.codec.Encode(&c)
	if err != nil {
		return err
	}
	st.Put(countsKey, b)
	return nil
}

func (v *stateView) putFold(st processor.State, user string, f *Fold) error {
	b, err := v.codec.Encode(f)
	if err != nil {
		return fmt.Errorf("encode fold of %s: %w", user, err)
	}
	st.Put(userPrefix+user, b)
	return nil
}

// fact decodes what rec says about its user; ok is false for a record
// that says nothing (an event of another kind).
func (v *stateView) fact(rec *kgo.Record) (user string, x fact, ok bool, err error) {
	switch rec.Topic {
	case TopicUsers:
		var u User
		if err := v.codec.Decode(rec.Value, &u); err != nil {
			return "", x, false, err
		}
		return u.UserID, fact{kind: factRegister, at: u.RegisteredAt.UnixMilli()}, true, nil
	case TopicChecks, TopicChecksHigh:
		var m Mark
		if err := v.codec.Decode(rec.Value, &m); err != nil {
			return "", x, false, err
		}
		return m.UserID, fact{kind: factMark, at: m.MarkedAt.UnixMilli(), priority: m.Priority}, true, nil
	case TopicResults:
		var r Result
		if err := v.codec.Decode(rec.Value, &r); err != nil {
			return "", x, false, err
		}
		return r.UserID, fact{kind: factResult, at: r.MarkedAt.UnixMilli(), priority: r.Priority,
			checkedAt: r.CheckedAt.UnixMilli(), status: r.Status, open: r.OpenDM, attempts: r.Attempts, src: sink.Src(rec)}, true, nil
	case v.events:
		var e schemas.Event
		if err := v.codec.Decode(rec.Value, &e); err != nil {
			return "", x, false, err
		}
		x.at = e.Time.UnixMilli()
		switch {
		case e.Status == schemas.StatusReprocess:
			x.kind = factPark
		case e.Status == schemas.StatusFailed:
			x.kind = factGiveUp
		case e.Status == schemas.StatusError || e.Stage == ReprocessStage:
			x.kind = factRetry
		default:
			return "", x, false, nil
		}
		return e.ItemID, x, true, nil
	}
	return "", x, false, fmt.Errorf("topic %s is no input of the state view", rec.Topic)
}

// ReprocessStage names the reprocessor in the events of its re-sends.
const ReprocessStage = "reprocess"

func sameUser(a, b ration.DMUser) bool {
	return a.State == b.State && eqPtr(a.Priority, b.Priority) && eqTime(a.MarkedAt, b.MarkedAt) &&
		eqTime(a.CheckedAt, b.CheckedAt) && eqPtr(a.OpenDM, b.OpenDM) && a.Attempts == b.Attempts
}

func eqPtr[T comparable](a, b *T) bool { return (a == nil) == (b == nil) && (a == nil || *a == *b) }

func eqTime(a, b *ration.Timestamp) bool {
	return (a == nil) == (b == nil) && (a == nil || a.Equal(b.Time))
}
