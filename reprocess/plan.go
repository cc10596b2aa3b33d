package reprocess

import (
	"slices"
	"time"

	"github.com/rationhq/ration"
	"github.com/rationhq/ration/schemas"
)

// Action is what a run does with one item.
type Action string

// The actions.
const (
	// ActionResend sends the item's record to its stage again.
	ActionResend Action = "resend"
	// ActionFail gives up on the item: a FAILED event and, once, a
	// notification.
	ActionFail Action = "fail"
	// ActionWait leaves an item alone that an earlier run re-sent or
	// gave up on, until ClickHouse has caught up with that.
	ActionWait Action = "wait"
	// ActionMissing is an item whose record is gone from Kafka.
	ActionMissing Action = "missing"
	// ActionUnknown is an item of a pipeline this reprocessor does not
	// know.
	ActionUnknown Action = "unknown"
)

// plan is what a run does with one item, decided without Kafka.
type plan struct {
	it     ration.ItemStatus
	st     *schemas.ReprocessState // what earlier runs did, unless ClickHouse has caught up
	count  int                     // the retry count the item has as far as anyone knows
	action Action
	// release: the item is given up on in a stage that holds its key
	// while it is parked, so its record goes back with a give-up notice.
	release bool
}

// needsRecord says whether doing p needs the item's record from Kafka.
func (p plan) needsRecord() bool { return p.action == ActionResend || p.release }

// planItems decides what to do with each of items, given what earlier
// runs did (states) and the time: re-send it, give up on it (its retry
// count reached attemptCount), or leave it alone while ClickHouse has not
// caught up with an earlier run (within elapse of a re-send).
func planItems(items []ration.ItemStatus, states map[string]*schemas.ReprocessState, pipelines map[string]Pipeline,
	attemptCount int, elapse time.Duration, now time.Time) []plan {
	plans := make([]plan, 0, len(items))
	for _, it := range items {
		p, known := pipelines[it.Pipeline]
		if !known {
			plans = append(plans, plan{it: it, count: it.RetryCount, action: ActionUnknown})
			continue
		}
		st := ahead(states[stateKey(it.Pipeline, it.ItemID)], it)
		count := it.RetryCount
		switch {
		case st != nil && !st.FailedAt.IsZero():
			// Given up on already; ClickHouse has not seen it yet.
			plans = append(plans, plan{it, st, st.RetryCount, ActionWait, false})
			continue
		case st != nil && st.RetryCount > it.RetryCount && now.Sub(st.SentAt) < elapse:
			// Re-sent by an earlier run and not seen by its stage
			// since: not again until the elapse time has passed.
			plans = append(plans, plan{it, st, st.RetryCount, ActionWait, false})
			continue
		case st != nil:
			count = max(count, st.RetryCount)
		}
		if count >= attemptCount {
			plans = append(plans, plan{it, st, count, ActionFail, slices.Contains(p.Holding, it.Stage)})
			continue
		}
		plans = append(plans, plan{it, st, count, ActionResend, false})
	}
	return plans
}
