package processor

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// Retry configures a stage's non-blocking retries (RP-2). A transient
// failure sends the item to the first delay tier, a topic that a delayer
// empties back into the stage's input once the tier's delay has passed;
// the n-th failure sends it to tier n; after the last tier the item is
// parked with status REPROCESS for the reprocessor.
//
// While an item of a key is in this loop, later items of that key join it
// untried: each gets the next sequence number of its key and waits in the
// tier of the key's oldest item. A returning item is tried only if it is
// the oldest of its key; otherwise it goes round again. So each key's
// items are tried in order and every other key keeps flowing. The loop's
// state (per key: sequence numbers and tiers) lives in the stage's
// state, written to its changelog in the transaction that changes it.
//
// Parking the oldest item releases its key, unless Hold: then the key's
// later items keep waiting (in the last tier) until the parked one is sent
// again and succeeds or fails for good, or the reprocessor gives up on it.
// A ledger needs Hold: a later debit must never overtake an earlier one.
type Retry struct {
	// Delays are the tiers' delays.
	Delays []time.Duration
	// DelayTopics are the tiers' topics, one per delay.
	DelayTopics []string
	// ParkedTopic receives the items whose retries are used up.
	ParkedTopic string
	// Hold keeps a key's later items waiting while its oldest is parked.
	Hold bool
}

// DefaultDelays are the delay tiers of a stage's retries.
func DefaultDelays() []time.Duration {
	return []time.Duration{time.Second, 10 * time.Second, time.Minute}
}

func (r *Retry) validate() error {
	switch {
	case len(r.Delays) == 0:
		return errors.New("stage: retries need at least one delay tier")
	case len(r.DelayTopics) != len(r.Delays):
		return fmt.Errorf("stage: %d delay topics for %d delays", len(r.DelayTopics), len(r.Delays))
	case r.ParkedTopic == "":
		return errors.New("stage: retries need a parked topic")
	}
	for _, d := range r.Delays {
		if d <= 0 {
			return fmt.Errorf("stage: delay %v must be positive", d)
		}
	}
	return nil
}

func (r *Retry) rules() loopRules { return loopRules{tiers: len(r.Delays), hold: r.Hold} }

// Headers of records in the retry loop. A record in a delay tier, and the
// copy a delayer returns to the input, carries the HeaderRetry* headers;
// a record the reprocessor re-sends carries HeaderRetryCount.
const (
	// HeaderRetryTopic and HeaderRetryPartition are the input partition
	// the record returns to.
	HeaderRetryTopic     = "ration.retry.topic"
	HeaderRetryPartition = "ration.retry.partition"
	// HeaderRetryTier is the delay tier (1..) the record waits or waited in.
	HeaderRetryTier = "ration.retry.tier"
	// HeaderRetrySeq is its sequence number among its key's records in the
	// retry loop.
	HeaderRetrySeq = "ration.retry.seq"
	// HeaderRetryDue is when it may return, in unix milliseconds.
	HeaderRetryDue = "ration.retry.due"
	// HeaderRetryAttempts is how often the stage has tried it so far.
	HeaderRetryAttempts = "ration.retry.attempts"
	// HeaderRetryError is its last error, for people reading the topic.
	HeaderRetryError = "ration.retry.error"
	// HeaderRetryCount is how often the reprocessor has re-sent the item.
	HeaderRetryCount = "ration.retry_count"
	// HeaderGiveUp on a record the reprocessor sends says it gave up on
	// the item: a stage that holds the item's key while it is parked
	// (Retry.Hold) lets the key go on, and no stage handles the record.
	HeaderGiveUp = "ration.giveup"
	// HeaderItem names the item a record belongs to when that is not its
	// key (a ledger's commands are keyed by account). The runtime copies
	// it, and HeaderRetryCount, onto a record's outputs.
	HeaderItem = "ration.item"
)

// ItemID is the item rec belongs to: HeaderItem, or else its key.
func ItemID(rec *kgo.Record) string {
	for _, h := range rec.Headers {
		if h.Key == HeaderItem {
			return string(h.Value)
		}
	}
	return string(rec.Key)
}

// retryMeta is what a record's headers say about its retries.
type retryMeta struct {
	seq        int  // its sequence number in the retry loop; -1 for a new record
	attempts   int  // tries so far
	retryCount int  // re-sends by the reprocessor
	giveUp     bool // the reprocessor gave up on the item
}

func readRetryMeta(r *kgo.Record) retryMeta {
	m := retryMeta{seq: -1}
	for _, h := range r.Headers {
		switch h.Key {
		case HeaderRetrySeq:
			if n, err := strconv.Atoi(string(h.Value)); err == nil && n >= 0 {
				m.seq = n
			}
		case HeaderRetryAttempts:
			m.attempts, _ = strconv.Atoi(string(h.Value))
		case HeaderRetryCount:
			m.retryCount, _ = strconv.Atoi(string(h.Value))
		case HeaderGiveUp:
			m.giveUp = true
		}
	}
	m.attempts, m.retryCount = max(m.attempts, 0), max(m.retryCount, 0)
	return m
}

// Attempt returns which try of rec this is (1 for the first) as the retry
// headers tell; a handler puts it in its events.
func Attempt(rec *kgo.Record) int { return readRetryMeta(rec).attempts + 1 }

// RetryCount returns how often the reprocessor has re-sent rec.
func RetryCount(rec *kgo.Record) int { return readRetryMeta(rec).retryCount }

// Reinject returns a copy of a stored record (a parked one, a dead letter,
// or one read back from an input topic) that starts its stage afresh: the
// retry and dead-letter headers are dropped and HeaderRetryCount says how
// often the item has been re-sent (no header for 0). Its topic is left
// empty.
func Reinject(r *kgo.Record, retryCount int) *kgo.Record {
	headers := withoutHeaders(r.Headers, "ration.retry", "ration.dead.", HeaderGiveUp) // ration.retry.* and ration.retry_count
	if retryCount > 0 {
		headers = append(headers, kgo.RecordHeader{Key: HeaderRetryCount, Value: []byte(strconv.Itoa(retryCount))})
	}
	return &kgo.Record{Key: slices.Clone(r.Key), Value: slices.Clone(r.Value), Headers: headers}
}

// toTier returns the copy of r that waits in tier (its topic), due after
// delay, as number seq of its key; it returns to r's partition.
func toTier(topic string, tier int, delay time.Duration, r *kgo.Record, seq, attempts int, cause error, now time.Time) *kgo.Record {
	headers := append(withoutHeaders(r.Headers, "ration.retry."),
		kgo.RecordHeader{Key: HeaderRetryTopic, Value: []byte(r.Topic)},
		kgo.RecordHeader{Key: HeaderRetryPartition, Value: []byte(strconv.Itoa(int(r.Partition)))},
		kgo.RecordHeader{Key: HeaderRetryTier, Value: []byte(strconv.Itoa(tier))},
		kgo.RecordHeader{Key: HeaderRetrySeq, Value: []byte(strconv.Itoa(seq))},
		kgo.RecordHeader{Key: HeaderRetryDue, Value: []byte(strconv.FormatInt(now.Add(delay).UnixMilli(), 10))},
		kgo.RecordHeader{Key: HeaderRetryAttempts, Value: []byte(strconv.Itoa(attempts))},
	)
	if cause != nil {
		headers = append(headers, kgo.RecordHeader{Key: HeaderRetryError, Value: []byte(cause.Error())})
	}
	return &kgo.Record{Topic: topic, Key: r.Key, Value: r.Value, Headers: headers}
}

// withoutHeaders returns a copy of hs without the headers whose keys start
// with one of prefixes.
func withoutHeaders(hs []kgo.RecordHeader, prefixes ...string) []kgo.RecordHeader {
	out := make([]kgo.RecordHeader, 0, len(hs)+6) // room for what callers add
	for _, h := range hs {
		if !slices.ContainsFunc(prefixes, func(p string) bool { return strings.HasPrefix(h.Key, p) }) {
			out = append(out, h)
		}
	}
	return out
}
