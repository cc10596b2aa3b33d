package dm

import (
	"fmt"
	"time"

	"github.com/rationhq/ration"
)

// factKind is what one record says about a user.
type factKind uint8

const (
	factRegister factKind = iota // registered (ration.dm.users)
	factMark                     // marked for a check
	factResult                   // a check's result
	factPark                     // parked: a REPROCESS event
	factRetry                    // sent to a delay tier or again by the reprocessor: ERROR, or an event of stage reprocess
	factGiveUp                   // failed for good: a FAILED event
)

// fact is one thing one record says about a user.
type fact struct {
	kind     factKind
	at       int64 // ms: a mark's or a result's marked_at, an event's time
	priority Priority
	// A result's own.
	checkedAt int64
	status    ResultStatus
	open      *bool
	attempts  int
	src       string // the result record's topic/partition/offset, the last tie-breaker
}

// apply folds x into f. Every field of a Fold is a maximum (or the value
// at a maximum), so applying facts in any order, or one twice, gives the
// same Fold: the state view's answers equal the whole log's, replayed or
// not.
func (f *Fold) apply(x fact) {
	switch x.kind {
	case factRegister:
		f.Known = true
	case factMark, factResult:
		f.Known = true
		f.Marked = max(f.Marked, x.at)
		high := x.priority == PriorityHigh
		if x.at > f.PriorityAt || (x.at == f.PriorityAt && (f.Priority == "" || high)) {
			f.Priority, f.PriorityAt = string(x.priority), x.at
		}
		if x.kind == factMark {
			return
		}
		f.Answered = max(f.Answered, x.at)
		if later(x.at, x.checkedAt, x.src, f.ResultMarked, f.ResultAt, f.ResultSrc) {
			f.ResultMarked, f.ResultAt, f.ResultSrc = x.at, x.checkedAt, x.src
			f.ResultStatus, f.ResultAttempts = string(x.status), x.attempts
			f.ResultOpen = -1
			if x.open != nil {
				f.ResultOpen = 0
				if *x.open {
					f.ResultOpen = 1
				}
			}
		}
	case factPark:
		f.Parked = max(f.Parked, x.at)
	case factRetry:
		f.Retried = max(f.Retried, x.at)
	case factGiveUp:
		f.GaveUp = max(f.GaveUp, x.at)
	}
}

// later orders results by (marked_at, checked_at, src).
func later(marked, at int64, src string, thanMarked, thanAt int64, thanSrc string) bool {
	if marked != thanMarked {
		return marked > thanMarked
	}
	if at != thanAt {
		return at > thanAt
	}
	return src > thanSrc
}

// state is where the user stands: unmarked (no mark), pending (its latest
// mark has no result yet), parked (pending, parked after its latest mark
// and not retried since), failed (given up on after its latest mark, or
// its latest result failed), checked.
func (f Fold) state() ration.DMState {
	waiting := f.Answered < f.Marked
	switch {
	case f.Marked == 0:
		return ration.DMUnmarked
	case waiting && f.GaveUp >= f.Marked && f.GaveUp >= f.Parked:
		return ration.DMFailed
	case waiting && f.Parked >= f.Marked && f.Parked > f.Retried:
		return ration.DMParked
	case waiting:
		return ration.DMPending
	case f.ResultStatus == string(ResultFailed):
		return ration.DMFailed
	}
	return ration.DMChecked
}

// user is the user as the read API shows it.
func (f Fold) user(id string) ration.DMUser {
	u := ration.DMUser{UserID: id, State: f.state()}
	if u.State == ration.DMUnmarked {
		return u
	}
	prio := f.Priority
	u.Priority = &prio
	u.MarkedAt = ration.NewTimestamp(time.UnixMilli(f.Marked).UTC())
	// What the latest result said applies only while no newer mark
	// waits for its own.
	if u.State == ration.DMChecked || u.State == ration.DMFailed {
		checked := f.ResultAt
		if f.Answered < f.Marked {
			checked = f.GaveUp
		}
		u.CheckedAt = ration.NewTimestamp(time.UnixMilli(checked).UTC())
		u.Attempts = f.ResultAttempts
		if u.State == ration.DMChecked && f.ResultOpen >= 0 {
			v := f.ResultOpen == 1
			u.OpenDM = &v
		}
	}
	return u
}

// stateRecord is u as the state view writes it.
func stateRecord(u ration.DMUser, prev ration.DMState, version int64) *UserState {
	s := &UserState{UserID: u.UserID, State: string(u.State), PrevState: string(prev), OpenDM: u.OpenDM, Attempts: u.Attempts, Version: version}
	if u.Priority != nil {
		s.Priority = *u.Priority
	}
	if u.MarkedAt != nil {
		s.MarkedAt = u.MarkedAt.Time
	}
	if u.CheckedAt != nil {
		s.CheckedAt = u.CheckedAt.Time
	}
	return s
}

// waitingKey indexes a pending or parked user by its latest mark, so the
// state's first key under waitingPrefix is the oldest waiting mark.
func waitingKey(marked int64, user string) string {
	return fmt.Sprintf("%s%013d/%s", waitingPrefix, marked, user)
}

const (
	userPrefix    = "u/"
	waitingPrefix = "w/"
	countsKey     = "c"
)

func waits(s ration.DMState) bool { return s == ration.DMPending || s == ration.DMParked }
