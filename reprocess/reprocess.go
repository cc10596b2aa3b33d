package reprocess

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"golang.org/x/time/rate"

	"github.com/rationhq/ration"
	"github.com/rationhq/ration/notify"
	"github.com/rationhq/ration/processor"
	"github.com/rationhq/ration/schemas"
)

// StageName names the reprocessor in the events it writes for a re-send.
const StageName = "reprocess"

// maxReportItems caps the items a Report lists; its counts cover all.
const maxReportItems = 1000

// Deps are what a Reprocessor is given.
type Deps struct {
	// Kafka are the client options that reach the cluster.
	Kafka []kgo.Opt
	// Codec encodes events and state records.
	Codec *schemas.Codec
	// Items answers the selection (ClickHouse's item_status).
	Items ration.ItemStatusReader
	// Notifier tells people about given-up items.
	Notifier notify.Notifier
	// Log receives the reprocessor's logs. Default: discard.
	Log *slog.Logger
	// Now is the clock. Default time.Now.
	Now func() time.Time
	// Worker names this reprocessor in events. Default "reprocessor".
	Worker string
	// Metrics, if not nil, count runs and items.
	Metrics *Metrics
	// Pipelines are the pipelines whose items the reprocessor handles, by
	// name; an item of another pipeline is left alone.
	Pipelines map[string]Pipeline
}

// Request asks for one run.
type Request struct {
	// Scheduled runs happen only inside the window and stop when it
	// closes; a run asked for now (Scheduled false) ignores the window.
	Scheduled bool
	// DryRun selects and reports, and writes nothing.
	DryRun bool
	// Pipeline, Status and Since narrow the selection (see
	// ration.ReprocessSelection).
	Pipeline string
	Status   string
	Since    time.Time
}

// Report is what a run did (or, dry, would do).
type Report struct {
	DryRun bool `json:"dry_run"`
	// Skipped says why a run did nothing at all ("" if it ran).
	Skipped string `json:"skipped,omitempty"`
	// Selected counts the items looked at; Resent, Failed and Waiting
	// what became of them (Waiting: re-sent or given up on by an earlier
	// run that ClickHouse has not caught up with); Missing the items whose
	// record is gone from Kafka; Unknown the items of a pipeline this
	// reprocessor does not run.
	Selected int `json:"selected"`
	Resent   int `json:"resent"`
	Failed   int `json:"failed"`
	Waiting  int `json:"waiting"`
	Missing  int `json:"missing"`
	Unknown  int `json:"unknown"`
	// Notified counts the items in this run's notification.
	Notified int `json:"notified"`
	// Items lists what happened to each item, up to 1 000.
	Items []ItemAction `json:"items"`
}

// ItemAction is what a run did with one item.
type ItemAction struct {
	Pipeline   string `json:"pipeline"`
	ItemID     string `json:"item_id"`
	Stage      string `json:"stage"`
	Status     string `json:"status"`
	RetryCount int    `json:"retry_count"`
	Action     Action `json:"action"`
}

func (r *Report) add(it ration.ItemStatus, retryCount int, action Action) {
	switch action {
	case ActionResend:
		r.Resent++
	case ActionFail:
		r.Failed++
	case ActionWait:
		r.Waiting++
	case ActionMissing:
		r.Missing++
	case ActionUnknown:
		r.Unknown++
	}
	if len(r.Items) < maxReportItems {
		r.Items = append(r.Items, ItemAction{Pipeline: it.Pipeline, ItemID: it.ItemID, Stage: it.Stage, Status: it.Status, RetryCount: retryCount, Action: action})
	}
}

// ErrBusy is returned when this process is already running a run.
var ErrBusy = errors.New("a reprocessing run is already under way in this process")

// Reprocessor runs reprocessing runs. It is safe for concurrent use; runs
// of one process take turns (ErrBusy), runs of several processes fence
// each other.
type Reprocessor struct {
	cfg    Config
	deps   Deps
	window *Window
	log    *slog.Logger
	busy   sync.Mutex
}

// New returns a reprocessor.
func New(cfg Config, deps Deps) (*Reprocessor, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if deps.Codec == nil || deps.Items == nil || deps.Notifier == nil {
		return nil, errors.New("reprocess: codec, item reader and notifier are required")
	}
	w, _ := cfg.window()
	if deps.Log == nil {
		deps.Log = slog.New(slog.DiscardHandler)
	}
	if deps.Now == nil {
		deps.Now = time.Now
	}
	if deps.Worker == "" {
		deps.Worker = "reprocessor"
	}
	return &Reprocessor{cfg: cfg, deps: deps, window: w, log: deps.Log.With("role", "reprocess")}, nil
}

// Run runs once.
func (r *Reprocessor) Run(ctx context.Context, req Request) (Report, error) {
	rep, err := r.run(ctx, req)
	if errors.Is(err, errWindowEnded) {
		// What it committed stands; the rest waits for the next window.
		r.log.Info("scheduled run stopped at the end of the off-peak window", "selected", rep.Selected, "resent", rep.Resent, "failed", rep.Failed)
		r.deps.Metrics.run("window_ended")
		return rep, nil
	}
	switch {
	case err != nil:
		r.deps.Metrics.run("failed")
	case rep.Skipped != "":
		r.deps.Metrics.run("skipped")
	default:
		r.deps.Metrics.run("done")
	}
	return rep, err
}

// errWindowEnded cuts a scheduled run short when the off-peak window
// closes.
var errWindowEnded = errors.New("the off-peak window ended")

func (r *Reprocessor) run(ctx context.Context, req Request) (rep Report, err error) {
	rep = Report{DryRun: req.DryRun, Items: []ItemAction{}}
	if !r.busy.TryLock() {
		return rep, ErrBusy
	}
	defer r.busy.Unlock()

	now := r.deps.Now()
	if req.Scheduled && r.window != nil {
		if !r.window.Contains(now) {
			rep.Skipped = "outside the off-peak window " + r.window.String()
			r.log.Info("scheduled run skipped", "reason", rep.Skipped)
			return rep, nil
		}
		if end := r.window.End(now); !end.IsZero() {
			var cancel context.CancelFunc
			ctx, cancel = context.WithDeadlineCause(ctx, end, errWindowEnded)
			defer cancel()
			defer func() {
				if err != nil && errors.Is(context.Cause(ctx), errWindowEnded) {
					err = errWindowEnded
				}
			}()
		}
	}
	r.log.Info("reprocessing run started", "dry_run", req.DryRun, "pipeline", req.Pipeline, "status", req.Status, "since", req.Since)

	var tx *kgo.Client
	if !req.DryRun {
		tx, err = kgo.NewClient(append(slices.Clone(r.deps.Kafka),
			kgo.TransactionalID(TransactionalID),
			kgo.TransactionTimeout(time.Minute),
			kgo.RecordPartitioner(explicitPartitioner{kgo.StickyKeyPartitioner(nil)}),
		)...)
		if err != nil {
			return rep, err
		}
		defer tx.Close()
		if err := takeOver(ctx, tx, r.deps.Codec, r.deps.Worker, now); err != nil {
			return rep, err
		}
	}
	states, err := loadState(ctx, r.deps.Kafka, r.deps.Codec)
	if err != nil {
		return rep, err
	}

	var limiter *rate.Limiter
	if r.cfg.Rate > 0 {
		limiter = rate.NewLimiter(rate.Limit(r.cfg.Rate), max(1, int(r.cfg.Rate)))
	}
	sel := ration.ReprocessSelection{Pipeline: req.Pipeline, Status: req.Status, Since: req.Since, StuckBefore: now.Add(-r.cfg.Elapse)}
	var afterPipeline, afterItem string
	for {
		items, err := r.deps.Items.ReprocessCandidates(ctx, sel, afterPipeline, afterItem, r.cfg.FetchSize)
		if err != nil {
			return rep, err
		}
		if len(items) == 0 {
			break
		}
		last := items[len(items)-1]
		afterPipeline, afterItem = last.Pipeline, last.ItemID
		rep.Selected += len(items)
		if err := r.batch(ctx, tx, states, items, limiter, &rep, req.DryRun); err != nil {
			return rep, err
		}
		if len(items) < r.cfg.FetchSize {
			break
		}
	}
	if !req.DryRun {
		if err := r.notify(ctx, tx, states, &rep); err != nil {
			return rep, err
		}
		if err := r.forgetSettled(ctx, tx, states); err != nil {
			return rep, err
		}
	}
	r.log.Info("reprocessing run finished", "dry_run", req.DryRun, "selected", rep.Selected, "resent", rep.Resent,
		"failed", rep.Failed, "waiting", rep.Waiting, "missing", rep.Missing, "notified", rep.Notified)
	return rep, nil
}

// batch handles one fetch of items in one transaction: their plans, the
// records they need, the copies and give-up notices, then the events and
// state records.
func (r *Reprocessor) batch(ctx context.Context, tx *kgo.Client, states map[string]*schemas.ReprocessState, items []ration.ItemStatus, limiter *rate.Limiter, rep *Report, dry bool) error {
	now := r.deps.Now()
	plans := planItems(items, states, r.deps.Pipelines, r.cfg.AttemptCount, r.cfg.Elapse, now)
	if dry {
		for _, p := range plans {
			rep.add(p.it, p.count, p.action)
		}
		return nil
	}
	var toFetch []ration.ItemStatus
	for _, p := range plans {
		if p.needsRecord() {
			toFetch = append(toFetch, p.it)
		}
	}
	var sources map[topicPartition]map[int64]*kgo.Record
	if len(toFetch) > 0 {
		var err error
		if sources, err = fetchSources(ctx, r.deps.Kafka, toFetch); err != nil {
			return err
		}
	}
	if err := tx.BeginTransaction(); err != nil {
		return err
	}
	sent, err := r.produceRecords(ctx, tx, plans, sources, limiter)
	if err != nil {
		return errors.Join(err, abort(tx))
	}
	updated, err := r.produceOutcomes(ctx, tx, plans, sent, now)
	if err != nil {
		return errors.Join(err, abort(tx))
	}
	if err := tx.EndTransaction(ctx, kgo.TryCommit); err != nil {
		return fmt.Errorf("commit (another reprocessor may have taken over): %w", err)
	}
	for _, st := range updated {
		states[stateKey(st.Pipeline, st.ItemID)] = st
	}
	for i, p := range plans {
		rep.add(p.it, p.count, p.action)
		r.deps.Metrics.item(p.it.Pipeline, p.action)
		log := r.log.With("pipeline", p.it.Pipeline, "item_id", p.it.ItemID, "stage", p.it.Stage)
		switch p.action {
		case ActionResend:
			c := sent[i]
			log.Info("item re-sent", "topic", c.Topic, "partition", c.Partition, "retry_count", p.count)
		case ActionFail:
			log.Error("item given up on", "retry_count", p.count, "released_key", p.release)
		case ActionWait:
			log.Debug("item re-sent or given up on by an earlier run that ClickHouse has not caught up with; left alone")
		case ActionUnknown:
			log.Warn("item of a pipeline this reprocessor does not run; left alone")
		}
	}
	return nil
}

// produceRecords produces, in tx, a copy of the record of every item to
// re-send (with its new retry count) and a give-up notice of every item
// given up on in a stage that holds its key, and returns the copies by
// plan index. An item whose record is gone becomes missing.
func (r *Reprocessor) produceRecords(ctx context.Context, tx *kgo.Client, plans []plan, sources map[topicPartition]map[int64]*kgo.Record, limiter *rate.Limiter) (map[int]*kgo.Record, error) {
	var (
		recs []*kgo.Record
		of   []int // plan index of each record
	)
	for i := range plans {
		p := &plans[i]
		if !p.needsRecord() {
			continue
		}
		src := sources[topicPartition{p.it.SourceTopic, p.it.SourcePartition}][p.it.SourceOffset]
		if src == nil {
			r.log.Error("item's record is gone from Kafka; cannot send it again", "pipeline", p.it.Pipeline, "item_id", p.it.ItemID,
				"topic", p.it.SourceTopic, "partition", p.it.SourcePartition, "offset", p.it.SourceOffset, "holds_key", p.release)
			if p.action == ActionResend {
				p.action = ActionMissing
			}
			continue
		}
		if p.action == ActionResend && limiter != nil {
			if err := limiter.Wait(ctx); err != nil {
				return nil, err
			}
		}
		again := processor.Reinject(src, p.count+1)
		if p.release {
			// The stage lets the key's later items go on, and handles
			// nothing of this one.
			again = processor.Reinject(src, p.count)
			again.Headers = append(again.Headers, kgo.RecordHeader{Key: processor.HeaderGiveUp, Value: []byte("1")})
		}
		again.Topic, again.Partition = src.Topic, src.Partition
		recs = append(recs, again)
		of = append(of, i)
	}
	if err := tx.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		return nil, err
	}
	sent := make(map[int]*kgo.Record, len(recs))
	for j, i := range of {
		if plans[i].action == ActionResend {
			sent[i] = recs[j]
		}
	}
	return sent, nil
}

// produceOutcomes produces, in tx, the event and the state record of every
// item re-sent or given up on, and returns the new states.
func (r *Reprocessor) produceOutcomes(ctx context.Context, tx *kgo.Client, plans []plan, sent map[int]*kgo.Record, now time.Time) ([]*schemas.ReprocessState, error) {
	var (
		records []*kgo.Record
		updated []*schemas.ReprocessState
	)
	for i := range plans {
		p := &plans[i]
		if p.action != ActionResend && p.action != ActionFail {
			continue
		}
		st := &schemas.ReprocessState{Pipeline: p.it.Pipeline, ItemID: p.it.ItemID}
		if p.st != nil {
			*st = *p.st
		}
		var ev *kgo.Record
		var err error
		if p.action == ActionFail {
			st.RetryCount, st.FailedAt = p.count, now
			// Kept for the notification, which may go out runs later.
			st.Stage, st.Error = p.it.Stage, p.it.Error
			ev, err = r.event(p.it, schemas.StatusFailed, p.count, p.it.SourceTopic, p.it.SourcePartition, p.it.SourceOffset,
				fmt.Sprintf("reprocessing gave up after %d re-sends; last error: %s", p.count, p.it.Error), now)
		} else {
			c := sent[i]
			p.count++
			st.RetryCount, st.SentAt = p.count, now
			// The event names the copy: a copy lost downstream is the
			// one sent again next time.
			ev, err = r.event(p.it, schemas.StatusSuccess, p.count, c.Topic, c.Partition, c.Offset, "", now)
		}
		if err != nil {
			return nil, err
		}
		rec, err := stateRecord(r.deps.Codec, st)
		if err != nil {
			return nil, err
		}
		records = append(records, ev, rec)
		updated = append(updated, st)
	}
	if err := tx.ProduceSync(ctx, records...).FirstErr(); err != nil {
		return nil, err
	}
	return updated, nil
}

// forgetSettled tombstones the state of every item that ClickHouse has
// caught up with (its latest event is the state's own last one or newer)
// and that has no notification pending: from then on ClickHouse knows all
// the state knew, so ration.reprocess.state holds only the items a run is
// still ahead on, and loading it stays cheap however many items were ever
// re-sent.
func (r *Reprocessor) forgetSettled(ctx context.Context, tx *kgo.Client, states map[string]*schemas.ReprocessState) error {
	var keys []ration.ItemKey
	for _, st := range states {
		if st.FailedAt.IsZero() || !st.NotifiedAt.IsZero() {
			keys = append(keys, ration.ItemKey{Pipeline: st.Pipeline, ItemID: st.ItemID})
		}
	}
	slices.SortFunc(keys, func(a, b ration.ItemKey) int {
		return strings.Compare(stateKey(a.Pipeline, a.ItemID), stateKey(b.Pipeline, b.ItemID))
	})
	forgotten := 0
	for chunk := range slices.Chunk(keys, r.cfg.FetchSize) {
		changed, err := r.deps.Items.LastChanged(ctx, chunk)
		if err != nil {
			return err
		}
		var tombs []*kgo.Record
		for _, k := range chunk {
			key := stateKey(k.Pipeline, k.ItemID)
			if at, ok := changed[k]; ok && settled(states[key], at) {
				tombs = append(tombs, &kgo.Record{Topic: schemas.TopicReprocessState, Partition: 0, Key: []byte(key)})
			}
		}
		if len(tombs) == 0 {
			continue
		}
		if err := commit(ctx, tx, tombs...); err != nil {
			return fmt.Errorf("forgetting settled items (another reprocessor may have taken over): %w", err)
		}
		for _, t := range tombs {
			delete(states, string(t.Key))
		}
		forgotten += len(tombs)
	}
	if forgotten > 0 {
		r.log.Info("forgot items that ClickHouse has caught up with", "items", forgotten)
	}
	return nil
}

// settled says whether ClickHouse, whose latest event of the item is at
// changed, has caught up with everything st records.
func settled(st *schemas.ReprocessState, changed time.Time) bool {
	last := st.SentAt
	if st.FailedAt.After(last) {
		last = st.FailedAt
	}
	return !changed.Before(last.Truncate(time.Millisecond))
}

// ahead returns st, what earlier runs did with it, if ClickHouse has not
// caught up with it yet, and nil once the item's latest event is the
// state's own last one (the re-send's event) or newer (for a give-up:
// newer, the FAILED event itself is terminal). From then on ClickHouse
// knows best, and an item that is a candidate again after a give-up has
// started over: a user given up on and marked again is re-sent from its
// new retry count, and notified about again if it is given up on again.
func ahead(st *schemas.ReprocessState, it ration.ItemStatus) *schemas.ReprocessState {
	if st == nil {
		return nil
	}
	if !st.FailedAt.IsZero() {
		if it.Changed.After(st.FailedAt.Truncate(time.Millisecond)) {
			return nil
		}
		return st
	}
	if !it.Changed.Before(st.SentAt.Truncate(time.Millisecond)) {
		return nil
	}
	return st
}

// commit writes recs in one transaction of tx.
func commit(ctx context.Context, tx *kgo.Client, recs ...*kgo.Record) error {
	if err := tx.BeginTransaction(); err != nil {
		return err
	}
	if err := tx.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		return errors.Join(err, abort(tx))
	}
	return tx.EndTransaction(ctx, kgo.TryCommit)
}

// abort ends tx's open transaction without committing it, also when the
// run's context is done.
func abort(tx *kgo.Client) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return tx.EndTransaction(ctx, kgo.TryAbort)
}

// event is a status event the reprocessor writes about an item.
func (r *Reprocessor) event(it ration.ItemStatus, status schemas.Status, retryCount int, topic string, partition int32, offset int64, msg string, now time.Time) (*kgo.Record, error) {
	stage := it.Stage
	if status == schemas.StatusSuccess {
		stage = StageName
	}
	v, err := r.deps.Codec.Encode(&schemas.Event{
		ItemID: it.ItemID, Pipeline: it.Pipeline, Stage: stage, Status: status,
		Attempt: it.Attempt, RetryCount: retryCount, Worker: r.deps.Worker,
		SourceTopic: topic, SourcePartition: partition, SourceOffset: offset,
		Error: msg, Time: now,
	})
	if err != nil {
		return nil, fmt.Errorf("encode event: %w", err)
	}
	p, ok := r.deps.Pipelines[it.Pipeline]
	if !ok {
		return nil, fmt.Errorf("item %s of pipeline %q: not a pipeline this reprocessor knows", it.ItemID, it.Pipeline)
	}
	return &kgo.Record{Topic: p.EventsTopic, Partition: -1, Key: []byte(it.ItemID), Value: v}, nil
}

// notify sends one message about every given-up item not notified yet and
// records that it did. An item nobody could be told about (no channel, or
// every channel failed) stays unrecorded, and forgetSettled keeps it, so
// a later run tells it.
func (r *Reprocessor) notify(ctx context.Context, tx *kgo.Client, states map[string]*schemas.ReprocessState, rep *Report) error {
	var pending []*schemas.ReprocessState
	for _, st := range states {
		if !st.FailedAt.IsZero() && st.NotifiedAt.IsZero() {
			pending = append(pending, st)
		}
	}
	if len(pending) == 0 {
		return nil
	}
	sort.Slice(pending, func(i, j int) bool {
		return stateKey(pending[i].Pipeline, pending[i].ItemID) < stateKey(pending[j].Pipeline, pending[j].ItemID)
	})
	h := sha256.New()
	b := notify.Batch{}
	for _, st := range pending {
		// The give-up time tells a later give-up of the same item from a
		// repeat of this one.
		fmt.Fprintf(h, "%s %d\n", stateKey(st.Pipeline, st.ItemID), st.FailedAt.UnixMilli())
		b.Items = append(b.Items, notify.Item{Pipeline: st.Pipeline, ItemID: st.ItemID, Stage: st.Stage, Error: st.Error,
			RetryCount: st.RetryCount, FailedAt: st.FailedAt})
	}
	b.ID = "reprocess-" + hex.EncodeToString(h.Sum(nil))[:24]
	if err := r.deps.Notifier.Notify(ctx, b); err != nil {
		// Not recorded, so not forgotten either: the next run tries
		// again, and the first one with a channel tells it.
		if errors.Is(err, notify.ErrNoChannel) {
			r.log.Error("given-up items reported to nobody: no notification channel is configured (notify.smtp_addr, notify.webhook_url); the first run with one reports them",
				"items", len(pending), "item_ids", stateKeys(pending, loggedIDs))
			return nil
		}
		r.log.Error("notification failed; the next run sends it again", "items", len(b.Items), "err", err)
		return nil
	}
	now := r.deps.Now()
	recs := make([]*kgo.Record, 0, len(pending))
	for _, st := range pending {
		done := *st
		done.NotifiedAt = now
		rec, err := stateRecord(r.deps.Codec, &done)
		if err != nil {
			return err
		}
		recs = append(recs, rec)
	}
	if err := commit(ctx, tx, recs...); err != nil {
		return fmt.Errorf("recording the notification: %w", err)
	}
	for _, st := range pending {
		st.NotifiedAt = now
	}
	rep.Notified = len(pending)
	r.log.Info("notified about given-up items", "items", len(pending), "batch", b.ID)
	return nil
}

// loggedIDs caps the item ids a log line lists; its count covers all.
const loggedIDs = 100

// stateKeys returns the keys (pipeline/item) of the first n states.
func stateKeys(states []*schemas.ReprocessState, n int) []string {
	states = states[:min(len(states), n)]
	keys := make([]string, len(states))
	for i, st := range states {
		keys[i] = stateKey(st.Pipeline, st.ItemID)
	}
	return keys
}

// explicitPartitioner sends a record with a partition (≥ 0) there and
// partitions one without (-1) by key: copies go back to the partition
// their item came from, events to their item's partition.
type explicitPartitioner struct{ byKey kgo.Partitioner }

func (p explicitPartitioner) ForTopic(topic string) kgo.TopicPartitioner {
	return explicitTopicPartitioner{p.byKey.ForTopic(topic)}
}

type explicitTopicPartitioner struct{ byKey kgo.TopicPartitioner }

func (p explicitTopicPartitioner) RequiresConsistency(r *kgo.Record) bool {
	return r.Partition >= 0 || p.byKey.RequiresConsistency(r)
}

func (p explicitTopicPartitioner) Partition(r *kgo.Record, n int) int {
	if r.Partition >= 0 {
		return int(r.Partition)
	}
	return p.byKey.Partition(r, n)
}
