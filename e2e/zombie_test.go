package e2e

import (
	"syscall"
	"testing"
	"time"

	"github.com/rationhq/ration/pipelines/dm"
)

// TestStalledWorkerIsFencedAfterItsSessionTimesOut (DM-2): worker A is
// stalled with SIGSTOP in the middle of a batch, stays stopped past its
// session timeout while B takes its buckets and commits, and is then
// resumed. A zombie must not commit what it checked before the stall.
//
// What is checked, on the read_committed result topic:
//   - every user has exactly one result;
//   - a sentinel written to every result partition after B committed and
//     before A resumed splits A's results in two: those before it (already
//     committed when A resumed, since a read_committed reader had passed the
//     sentinel) were checked before the stall; those after it were checked
//     after the group gave that result's bucket back to A (its "buckets
//     assigned" line after the resume). A result of the batch A had in
//     flight at the stall fits neither and fails the test;
//   - A checked nothing while stopped (a sanity check of the rig);
//   - A's logs show it lost its buckets after the resume and, when it was
//     inside a transaction at the stall, that the transaction was aborted or
//     its producer fenced.
func TestStalledWorkerIsFencedAfterItsSessionTimesOut(t *testing.T) {
	const (
		users          = 2000
		sessionTimeout = 3 * time.Second
	)
	start := time.Now()
	c := newCluster(t)
	marks := c.mark(t, "z", users)
	results := c.readResults(t)

	// Slow checks on two lanes and small batches keep a transaction open
	// almost all the time (a batch of 20 takes about 200 ms). A logs at
	// debug so its transaction boundaries (franz-go) and checks show.
	flags := []string{"--session-timeout", sessionTimeout.String(), "--sim-latency", "20ms",
		"--concurrency", "2", "--max-poll-records", "20"}
	a := c.startWorker(t, "wA", append(flags, "--log-level", "debug")...)
	c.board.MustAwait(t, 30*time.Second, "a committed result by wA", func() bool {
		return results.any(func(r result) bool { return r.Worker == a.id })
	})
	// Stall A right after it checked a user: it is inside a batch.
	a.await(t, 10*time.Second, a.mark(), "a check", msg("checked"))
	stopAt := a.stop(t)
	t.Logf("wA stopped %v after the test began", stopAt.Sub(start).Round(time.Millisecond))

	b := c.startWorker(t, "wB", flags...)
	// B owning every bucket means the group expelled A: its session timed
	// out. Then B commits work of its own.
	c.board.MustAwait(t, 4*sessionTimeout, "wB owning every bucket", func() bool {
		return len(b.owned(-1)) == 2*int(c.partitions)
	})
	tookOver := time.Now()
	c.board.MustAwait(t, 10*time.Second, "a committed result by wB", func() bool {
		return results.any(func(r result) bool { return r.Worker == b.id })
	})
	t.Logf("wB owned every bucket %v after the stall (session timeout %v)", tookOver.Sub(stopAt).Round(time.Millisecond), sessionTimeout)
	if stalled := time.Since(stopAt); stalled <= sessionTimeout {
		t.Fatalf("wA stalled only %v, not past its session timeout %v", stalled, sessionTimeout)
	}

	// Everything committed up to now ends before this sentinel. A
	// read_committed reader passes it only once no transaction written
	// before it is open, so A's in-flight one must have been resolved.
	c.sentinel(t, "pre-resume")
	c.board.MustAwait(t, 10*time.Second, "the pre-resume sentinel in every result partition", func() bool {
		return results.sentinelSeen("pre-resume", c.partitions)
	})
	resumeIdx := a.mark()
	resumeAt := time.Now()
	a.signal(t, syscall.SIGCONT)
	t.Logf("wA resumed after a stall of %v", resumeAt.Sub(stopAt).Round(time.Millisecond))

	_, lostAt := a.await(t, 10*time.Second, resumeIdx, "losing its buckets after the resume", msg(msgLost))
	inTxn := openTransactionAt(a, resumeIdx)
	if inTxn {
		line, _ := a.await(t, 10*time.Second, resumeIdx, "its in-flight transaction aborted or fenced", msg(
			"batch failed; aborting it to retry",
			"transaction aborted after a rebalance; its records will be processed again",
			"producer fenced; rejoining with a new session",
			"ending transaction failed; its records will be processed again",
			"producing outputs failed; aborting",
		))
		t.Logf("wA after the resume: %q (buckets lost at line %d)", line.Msg, lostAt)
	} else {
		t.Logf("wA was stopped between two transactions: nothing in flight to fence (buckets lost at line %d)", lostAt)
	}

	all := c.settle(t, results, users, 60*time.Second, a, b)
	checkExactlyOnce(t, marks, all)

	_, sentinels, _ := results.snapshot()
	split := sentinels["pre-resume"]
	regained := firstAssignedAfter(a, resumeIdx)
	stopMs, resumeMs := stopAt, resumeAt.Truncate(time.Millisecond)
	var before, after int
	for _, r := range all {
		if r.Worker != a.id {
			continue
		}
		if !r.CheckedAt.Before(stopMs) && r.CheckedAt.Before(resumeMs) {
			t.Errorf("wA checked %s at %s while it was stopped", r.UserID, r.CheckedAt.Format(time.StampMilli))
		}
		if r.Offset < split[r.Partition] {
			before++
			if !r.CheckedAt.Before(stopMs) {
				t.Errorf("result %s committed before the resume but checked after the stall", describe([]result{r}))
			}
			continue
		}
		after++
		bk := bucket{dm.TopicChecks, marks[r.UserID]}
		got, ok := regained[bk]
		switch {
		case !ok:
			t.Errorf("zombie commit: %s committed after the resume, but wA never got bucket %v back", describe([]result{r}), bk)
		case r.CheckedAt.Before(got.Truncate(time.Millisecond)):
			t.Errorf("zombie commit: %s committed after the resume but checked before wA got bucket %v back at %s",
				describe([]result{r}), bk, got.Format(time.StampMilli))
		}
	}
	t.Logf("wA committed %d results before the stall and %d after getting buckets back; in a transaction at the stall: %v", before, after, inTxn)
	if before == 0 {
		t.Errorf("no result of wA committed before the stall: the rig did not test what it should")
	}
	if aborts := c.broker.matching("txn timeout abort", "ration.dm."+a.id); len(aborts) > 0 {
		t.Logf("the broker aborted wA's transaction on its timeout: %v", aborts)
	}
	t.Logf("total %v", time.Since(start).Round(time.Millisecond))
}

// openTransactionAt reports whether w's last transaction boundary that
// franz-go logged before line upto began a transaction.
func openTransactionAt(w *worker, upto int) bool {
	open := false
	w.board.Read(func() {
		for _, l := range w.lines[:upto] {
			switch l.Msg {
			case "beginning transaction":
				open = true
			case "end transaction response successfully received":
				open = false
			}
		}
	})
	return open
}

// firstAssignedAfter returns, for each bucket w was assigned at or after
// line from, when that first happened by w's clock.
func firstAssignedAfter(w *worker, from int) map[bucket]time.Time {
	out := make(map[bucket]time.Time)
	w.board.Read(func() {
		for _, l := range w.lines[from:] {
			if l.Msg != msgAssigned {
				continue
			}
			for _, b := range l.buckets() {
				if _, ok := out[b]; !ok {
					out[b] = l.Time
				}
			}
		}
	})
	return out
}
