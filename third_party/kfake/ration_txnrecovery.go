package kfake

// ration patch: ending, at load, the transactions the broker died in.
// See RATION-PATCH.md.

import (
	"cmp"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"sync"
)

// inFlightTxn is a transaction a partition's log holds data of but no
// marker for: the broker died before the transaction ended there.
type inFlightTxn struct {
	pd          *partData
	pid         int64
	epoch       int16
	firstOffset int64
}

// recovered is what partitions, loaded concurrently, found for the broker
// to finish once pids.log is loaded: the transactions open in them and
// their producers' last batches.
type recovered struct {
	mu    sync.Mutex
	txns  []inFlightTxn
	tails []producerTail
}

func (f *recovered) addTxn(t inFlightTxn) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.txns = append(f.txns, t)
}

// producerTail is a producer's last batches in a partition, of its last
// epoch there, oldest first: what its sequence window held.
type producerTail struct {
	pd      *partData
	pid     int64
	epoch   int16
	batches []pidEntry
}

// addTails collects the tail of every producer that wrote to pd's log,
// given in order.
func (f *recovered) addTails(pd *partData, batches []*partBatch) {
	byPID := make(map[int64]*producerTail)
	for _, b := range batches {
		if b.ProducerID < 0 || b.Attributes&0x0020 != 0 { // not idempotent, or a marker
			continue
		}
		t := byPID[b.ProducerID]
		if t == nil {
			t = &producerTail{pd: pd, pid: b.ProducerID, epoch: b.ProducerEpoch}
			byPID[b.ProducerID] = t
		}
		if t.epoch != b.ProducerEpoch {
			t.epoch, t.batches = b.ProducerEpoch, t.batches[:0]
		}
		next := int32((int64(b.FirstSequence) + int64(b.NumRecords)) % math.MaxInt32)
		t.batches = append(t.batches, pidEntry{firstSeq: b.FirstSequence, nextSeq: next, offset: b.FirstOffset})
		if len(t.batches) > len(pidwindow{}.entries) {
			t.batches = t.batches[1:]
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, t := range byPID { // one window each: their order does not matter
		f.tails = append(f.tails, *t)
	}
}

// restoreSeqWindows rebuilds each producer's sequence window in each
// partition from the log, as Kafka rebuilds producer state when it
// recovers. kfake saves the windows only at a clean shutdown
// (seq_windows.json); after a crash a producer's retry of a batch the
// broker had written but not acknowledged found no window, was taken for
// new and written twice. A producer whose epoch has moved on since (a
// transaction aborted on load) starts a new window with its next batch,
// as before.
func (c *Cluster) restoreSeqWindows(tails []producerTail) {
	for _, t := range tails {
		pidinf := c.pids.ids[t.pid]
		if pidinf == nil { // an idempotent producer pids.log does not hold
			pidinf, _ = c.pids.getOrCreateNonTx(t.pid, t.epoch, t.pd.t, t.pd.p)
		}
		var w pidwindow
		for _, e := range t.batches {
			w.entries[w.count] = e
			w.count++
		}
		w.at = w.count % uint8(len(w.entries))
		w.seen, w.epoch, w.nextSeq = true, t.epoch, t.batches[len(t.batches)-1].nextSeq
		pidinf.windows.set(t.pd.t, t.pd.p, w)
	}
}

// finishInFlightTxns ends the transactions the broker died in, as Kafka's
// transaction coordinator does when it recovers: one whose commit was
// prepared (doEnd wrote the decision before any marker) commits, every
// other aborts. Each partition it left open gets its marker, so that a
// read_committed consumer stops skipping the producer's later batches
// there and a later load replays the same outcome; a commit's staged
// offsets are committed. The producer is left as its EndTxn would have
// left it: a client retrying the EndTxn of a prepared commit is told it
// succeeded, and one whose transaction was aborted finds its epoch
// bumped and is not told a commit succeeded.
func (c *Cluster) finishInFlightTxns(txns []inFlightTxn, prepared map[int64]pidLogEntry) error {
	if len(txns) == 0 && len(prepared) == 0 {
		return nil
	}
	slices.SortFunc(txns, func(a, b inFlightTxn) int {
		return cmp.Or(cmp.Compare(a.pd.t, b.pd.t), cmp.Compare(a.pd.p, b.pd.p), cmp.Compare(a.pid, b.pid))
	})
	aborted := make(map[int64]bool)
	var commits, aborts int
	for _, t := range txns {
		prep, ok := prepared[t.pid]
		commit := ok && prep.Epoch == t.epoch
		b, nbytes := txnMarkerBatch(t.pid, t.epoch, commit, 0)
		off := c.pushBatch(t.pd, nbytes, b, false)
		if off < 0 {
			return fmt.Errorf("end the transaction of producer %d open in %s-%d: marker not written", t.pid, t.pd.t, t.pd.p)
		}
		if commit {
			commits++
		} else {
			// The marker is the partition's last batch, so the list
			// stays sorted by lastOffset.
			t.pd.abortedTxns = append(t.pd.abortedTxns, abortedTxnEntry{producerID: t.pid, firstOffset: t.firstOffset, lastOffset: off})
			aborted[t.pid] = true
			aborts++
		}
		t.pd.recalculateLSO()
	}
	for pid, prep := range prepared {
		for group, topics := range prep.Offsets {
			g := c.groups.gs[group]
			if g == nil {
				g = c.groups.newGroup(group)
				c.groups.gs[group] = g
			}
			for topic, parts := range topics {
				for part, o := range parts {
					g.commitAndPersist(topic, part, offsetCommit{offset: o.Offset, leaderEpoch: o.LeaderEpoch, metadata: o.Metadata})
				}
			}
		}
		if pidinf := c.pids.ids[pid]; pidinf != nil {
			pidinf.inTx, pidinf.lastWasCommit, pidinf.epoch = false, true, prep.Epoch
			if prep.Bump {
				pidinf.epoch++
			}
		}
	}
	for pid := range aborted {
		if pidinf := c.pids.ids[pid]; pidinf != nil {
			pidinf.epoch++
			pidinf.inTx, pidinf.lastWasCommit = false, false
		}
	}
	c.compactPIDsLog() // pids.log from the state above, without the prepares
	c.cfg.logger.Logf(LogLevelWarn, "transactions open when the broker stopped, ended: %d prepared commits (%d partitions committed), %d partitions aborted",
		len(prepared), commits, aborts)
	return nil
}

// repairIndex writes the index entries of a segment's last batches, from
// the have-th on, that the broker died before writing: each batch's
// segment write comes before its index write. Left out, every later
// entry would sit one place early, and the next load would take committed
// data for non-transactional and markers for data.
func (c *Cluster) repairIndex(path string, have int, missing []*partBatch) {
	f, err := c.fs.OpenFile(path, os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		c.cfg.logger.Logf(LogLevelWarn, "repair index %s: %v", path, err)
		return
	}
	defer f.Close()
	at := int64(have * indexEntrySize) // past the last whole entry
	err = f.Truncate(at)
	if err == nil {
		_, err = f.Seek(at, io.SeekStart)
	}
	for _, b := range missing {
		if err != nil {
			break
		}
		idx := encodeIndexEntry(b.epoch, 0, b.inTx) // the stored max timestamp is recomputed at load
		_, err = f.Write(idx[:])
	}
	if err == nil && c.cfg.syncWrites {
		err = f.Sync()
	}
	if err != nil {
		c.cfg.logger.Logf(LogLevelWarn, "repair index %s: %v", path, err)
		return
	}
	c.cfg.logger.Logf(LogLevelWarn, "repaired index %s: %d entries the broker died before writing", path, len(missing))
}
