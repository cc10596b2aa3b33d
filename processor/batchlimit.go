package processor

import "time"

// batchLimit is how many records a stage's next batch may take. A batch
// whose work outruns the transaction timeout aborts, and would come back
// as large and abort again: with a slow downstream (a tax office taking a
// second an answer, 32 at a time) a batch of 1 000 can never commit, and
// the stage stops while its workers look busy. So an overrun halves the
// limit, down to one record, and a full batch that committed in under
// half the timeout doubles it, up to MaxPollRecords: a batch's work grows
// with its records, so one twice the size should still fit.
type batchLimit struct {
	most, n int
}

func newBatchLimit(most int) batchLimit { return batchLimit{most: most, n: most} }

// overran takes note that a batch of records records outran the
// transaction timeout, and says whether the limit fell.
func (l *batchLimit) overran(records int) bool {
	n := max(1, min(l.n, records)/2)
	fell := n < l.n
	l.n = n
	return fell
}

// committed takes note that a batch of records records committed in took
// of the timeout, and says whether the limit rose.
func (l *batchLimit) committed(records int, took, timeout time.Duration) bool {
	if l.n >= l.most || records < l.n || took >= timeout/2 {
		return false
	}
	l.n = min(l.most, 2*l.n)
	return true
}
