package e2e

import (
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/rationhq/ration/pipelines/dm"
)

// TestCrashedWorkerLosesNothingAndItsBucketsMoveInTime: three worker
// processes check 200 000 marks; one is killed with SIGKILL a quarter of the
// way in. Every mark still gets exactly one committed result (DM-9: no
// loss, and the killed worker's open transaction never commits), and each
// of its buckets that had work left is assigned to a survivor within the
// session timeout plus 3 s of the kill and produces results again (DM-4).
// How long a taken-over bucket then waits behind the survivor's own
// backlog depends on the machine's load: it is logged, not asserted.
func TestCrashedWorkerLosesNothingAndItsBucketsMoveInTime(t *testing.T) {
	const (
		users          = 200_000
		sessionTimeout = 3 * time.Second
		assignBound    = sessionTimeout + 3*time.Second
	)
	start := time.Now()
	c := newCluster(t)
	marks := c.mark(t, "u", users)
	t.Logf("%d marks produced in %v", users, time.Since(start).Round(time.Millisecond))
	results := c.readResults(t)

	// A millisecond per check keeps the run a few seconds long, so the kill
	// lands while every worker still has marks to check.
	flags := []string{"--session-timeout", sessionTimeout.String(), "--sim-latency", "1ms"}
	workers := []*worker{
		c.startWorker(t, "w1", flags...),
		c.startWorker(t, "w2", flags...),
		c.startWorker(t, "w3", flags...),
	}
	victim, survivors := workers[1], []*worker{workers[0], workers[2]}

	running := time.Now()
	// Progress is read from the group's committed offsets, not from the
	// results the test has read so far, which lag behind the workers.
	for deadline := time.Now().Add(60 * time.Second); ; {
		var done int64
		offs, _ := c.fetchCommitted() // the group appears with its first commit
		for _, off := range offs {
			done += off
		}
		if done >= users/4 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("a quarter of the marks not committed after 60s (%d)", done)
		}
		time.Sleep(20 * time.Millisecond) // polling the broker; there is no event to await
	}
	t.Logf("a quarter of the marks committed %v after the workers started", time.Since(running).Round(time.Millisecond))

	owned := victim.owned(-1)
	survivorMarks := make([]int, len(survivors))
	for i, s := range survivors {
		survivorMarks[i] = s.mark()
	}
	killAt := time.Now()
	victim.kill(t)
	committed := c.committed(t)
	ends := c.markEnds(t)

	// The victim's buckets of the normal check topic that still had marks
	// to check when it died: each must produce results again in time.
	var pending []int32
	for b := range owned {
		if b.Topic == dm.TopicChecks && committed[b.Partition] < ends[b.Partition] {
			pending = append(pending, b.Partition)
		}
	}
	sort.Slice(pending, func(i, j int) bool { return pending[i] < pending[j] })
	if len(pending) == 0 {
		t.Fatalf("worker %s owned no bucket with marks left when killed (owned %v, committed %v, ends %v): nothing to measure",
			victim.id, owned, committed, ends)
	}
	t.Logf("killed %s owning %d buckets; %d of its normal buckets had marks left: %v", victim.id, len(owned), len(pending), pending)

	all := c.settle(t, results, users, 90*time.Second, survivors...)
	t.Logf("all %d users checked %v after the workers started", users, time.Since(running).Round(time.Millisecond))
	checkExactlyOnce(t, marks, all)

	// First result after the kill in each pending bucket, by when it was
	// produced (the record's timestamp, which is after its check).
	first := make(map[int32]time.Time)
	for _, r := range all {
		p := marks[r.UserID]
		if r.Worker == victim.id || !r.Timestamp.After(killAt) {
			continue
		}
		if f, ok := first[p]; !ok || r.Timestamp.Before(f) {
			first[p] = r.Timestamp
		}
	}
	var report []string
	for _, p := range pending {
		f, ok := first[p]
		if !ok {
			t.Errorf("bucket %d of %s had marks left at the kill but no result after it", p, victim.id)
			continue
		}
		who, assigned, ok := takenBy(survivors, survivorMarks, p, killAt)
		report = append(report, fmt.Sprintf("%d:%v(%s assigned +%v)", p, f.Sub(killAt).Round(10*time.Millisecond), who, assigned.Round(10*time.Millisecond)))
		switch {
		case !ok:
			t.Errorf("bucket %d: no survivor logged its assignment after the kill", p)
		case assigned > assignBound:
			t.Errorf("bucket %d assigned %v after the kill, want at most %v", p, assigned.Round(time.Millisecond), assignBound)
		}
	}
	t.Logf("buckets resumed after the kill (bucket:delay(new owner)): %s", strings.Join(report, " "))
	t.Logf("total %v", time.Since(start).Round(time.Millisecond))
}

// takenBy names the survivor that logged the assignment of the normal
// check topic's partition p after the kill, and how long after it.
func takenBy(survivors []*worker, from []int, p int32, killAt time.Time) (string, time.Duration, bool) {
	for i, s := range survivors {
		line, at := s.find(from[i], func(l logLine) bool {
			if l.Msg != msgAssigned {
				return false
			}
			for _, b := range l.buckets() {
				if b.Topic == dm.TopicChecks && b.Partition == p {
					return true
				}
			}
			return false
		})
		if at >= 0 {
			return s.id, line.Time.Sub(killAt), true
		}
	}
	return "", 0, false
}
