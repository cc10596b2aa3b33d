package processor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"golang.org/x/sync/errgroup"

	"github.com/rationhq/ration/schemas"
)

// Handler is a stage's logic: it turns one input record into the records
// to produce in the same transaction. It must not keep rec. An error marked
// with ErrPermanent means the record can never be processed (it cannot be
// decoded, say): it goes to the dead-letter topic, or is skipped without
// one, and its bucket moves on. Any other error aborts the batch, which is
// retried after a pause.
type Handler interface {
	Process(ctx context.Context, rec *kgo.Record) ([]*kgo.Record, error)
}

// HandlerFunc adapts a function to Handler.
type HandlerFunc func(ctx context.Context, rec *kgo.Record) ([]*kgo.Record, error)

// Process implements Handler.
func (f HandlerFunc) Process(ctx context.Context, rec *kgo.Record) ([]*kgo.Record, error) {
	return f(ctx, rec)
}

// Deps are what a stage is given rather than configured with.
type Deps struct {
	// Kafka are the client options that reach the cluster (seed brokers,
	// SASL, logger).
	Kafka []kgo.Opt
	// Measured are options for the stage's own client only, such as a
	// client id and kprom hooks; the short-lived client that leaves the
	// group on shutdown does not get them.
	Measured []kgo.Opt
	// Log receives the stage's logs. Default: discard.
	Log *slog.Logger
	// Metrics, shared by the stages of a process. Default: none.
	Metrics *Metrics
	// Codec encodes the runtime's own records (status events, changelog
	// entries). Required with Config.Retry.
	Codec *schemas.Codec
}

// Stage is one worker of one stage.
type Stage struct {
	cfg  Config
	h    Handler
	deps Deps
	log  *slog.Logger
	prio *priority
	// blocks is the retry state of the owned partitions; nil without
	// retries.
	blocks *blocks

	// retryPause is how long a failed batch waits before it is retried.
	retryPause time.Duration
	// lastEnds is when the end offsets of the inputs were last asked for.
	lastEnds time.Time

	freshMu sync.Mutex
	fresh   map[string][]int32 // assigned and not yet reached by a poll
}

// addFresh records newly assigned partitions (from the group's callback),
// or new ones a poll has not reached yet.
func (s *Stage) addFresh(parts map[string][]int32) {
	s.freshMu.Lock()
	defer s.freshMu.Unlock()
	if s.fresh == nil {
		s.fresh = make(map[string][]int32)
	}
	for t, ps := range parts {
		s.fresh[t] = append(s.fresh[t], ps...)
	}
}

// takeFresh returns and forgets the partitions assigned since last asked.
func (s *Stage) takeFresh() map[string][]int32 {
	s.freshMu.Lock()
	defer s.freshMu.Unlock()
	f := s.fresh
	s.fresh = nil
	return f
}

// restrictedPollWait bounds a poll restricted to one priority class: when it
// returns nothing, that class's backlog was only transaction markers.
const restrictedPollWait = 200 * time.Millisecond

// New returns a stage; Run starts it.
func New(cfg Config, h Handler, deps Deps) (*Stage, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	log := deps.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Stage{
		cfg:        cfg,
		h:          h,
		deps:       deps,
		log:        log.With("stage", cfg.Name, "instance", cfg.InstanceID),
		prio:       newPriority(cfg.Topics, cfg.NormalShare),
		retryPause: time.Second,
	}
	if cfg.Retry != nil {
		if deps.Codec == nil {
			return nil, errors.New("stage: retries need a codec")
		}
		s.blocks = newBlocks(len(cfg.Retry.Delays))
	}
	return s, nil
}

// TransactionalID is the stage's transactional id: one per worker instance,
// stable across restarts, so a restarted worker fences its old self.
func (s *Stage) TransactionalID() string {
	return "ration." + s.cfg.Name + "." + s.cfg.InstanceID
}

// Run joins the group and processes until ctx ends. On the way out it
// finishes the open transaction, and leaves the group if LeaveOnShutdown.
//
// With retries, Run also runs one delayer per delay tier, which returns
// due records to the inputs.
func (s *Stage) Run(ctx context.Context) error {
	s.log.Info("stage started", "group", s.cfg.Group, "topics", s.cfg.Topics, "transactional_id", s.TransactionalID())
	if err := s.ensureTopics(ctx); err != nil {
		if ctx.Err() != nil {
			return nil // stopped while starting
		}
		return fmt.Errorf("stage %s: %w", s.cfg.Name, err)
	}
	g, ctx := errgroup.WithContext(ctx)
	if r := s.cfg.Retry; r != nil {
		for i, delay := range r.Delays {
			d := &delayer{stage: s, tier: i + 1, delay: delay}
			d.log = s.log.With("delay_tier", d.tier)
			g.Go(func() error { return s.runMember(ctx, d.member()) })
		}
	}
	g.Go(func() error {
		return s.runMember(ctx, member{kind: "stage", name: "stage " + s.cfg.Name, group: s.cfg.Group, log: s.log, opts: s.opts, step: s.step})
	})
	return g.Wait()
}

// errFenced means the session's producer epoch is no longer valid.
var errFenced = errors.New("producer fenced")

// memberOpts are the options of every transactional group member a stage
// runs (the stage itself and its delayers): static membership, the
// session and transaction timeouts, cooperative-sticky, read_committed.
func (c Config) memberOpts(group, transactionalID string, topics ...string) []kgo.Opt {
	return []kgo.Opt{
		kgo.ConsumerGroup(group),
		kgo.ConsumeTopics(topics...),
		kgo.InstanceID(c.InstanceID),
		kgo.TransactionalID(transactionalID),
		kgo.TransactionTimeout(c.TransactionTimeout),
		kgo.SessionTimeout(c.SessionTimeout),
		kgo.HeartbeatInterval(max(c.SessionTimeout/10, 100*time.Millisecond)),
		kgo.RebalanceTimeout(c.SessionTimeout),
		kgo.Balancers(kgo.CooperativeStickyBalancer()),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		// A fetch that waits for data blocks the fetches of buckets
		// assigned meanwhile; Kafka's 5s default would delay a dead
		// worker's buckets by that much.
		kgo.FetchMaxWait(500 * time.Millisecond),
		kgo.RequireStableFetchOffsets(),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
	}
}

// fetchPartitionShare splits the fetch buffer between partitions: one
// partition's backlog fills at most this share of a fetch, so a batch
// drawn from the buffer reaches a newly assigned bucket after a few
// batches of each bucket before it, not after a whole buffer of one.
const fetchPartitionShare = 8

func (s *Stage) opts() []kgo.Opt {
	c := s.cfg
	opts := append(slices.Clone(s.deps.Kafka), s.deps.Measured...)
	opts = append(opts, c.memberOpts(c.Group, s.TransactionalID(), c.Topics...)...)
	return append(opts,
		kgo.FetchMaxBytes(c.FetchMaxBytes),
		kgo.FetchMaxPartitionBytes(max(c.FetchMaxBytes/fetchPartitionShare, 1<<10)),
		kgo.RecordPartitioner(changelogPartitioner{kgo.StickyKeyPartitioner(nil)}),
		kgo.OnPartitionsAssigned(func(_ context.Context, _ *kgo.Client, parts map[string][]int32) {
			if len(parts) == 0 {
				// A cooperative rebalance that moved nothing to us.
				s.log.Debug("rebalance assigned no new buckets")
				return
			}
			s.log.Info("buckets assigned", "partitions", parts)
			s.prio.assign(parts)
			s.addFresh(parts)
			s.deps.Metrics.addAssigned(c.Name, parts, 1)
		}),
		kgo.OnPartitionsRevoked(func(_ context.Context, _ *kgo.Client, parts map[string][]int32) {
			if len(parts) > 0 {
				s.log.Info("buckets revoked", "partitions", parts)
			}
			s.prio.forget(parts)
			s.forgetBlocks(parts)
			s.deps.Metrics.addAssigned(c.Name, parts, -1)
		}),
		kgo.OnPartitionsLost(func(_ context.Context, _ *kgo.Client, parts map[string][]int32) {
			s.log.Warn("buckets lost", "partitions", parts)
			s.prio.forget(parts)
			s.forgetBlocks(parts)
			s.deps.Metrics.addAssigned(c.Name, parts, -1)
		}),
	)
}

// step polls one batch, as the priority policy allows, and processes it.
func (s *Stage) step(ctx context.Context, sess *kgo.GroupTransactSession) error {
	cl := sess.Client()
	fresh := s.takeFresh()
	s.refreshBacklog(ctx, cl, len(fresh) > 0)
	pause, resume := s.prio.next()
	cl.ResumeFetchTopics(resume...)
	if len(pause) > 0 {
		cl.PauseFetchTopics(pause...)
	}
	// Buckets just taken over from another worker come first: the fetch
	// buffer may hold many records of the buckets this worker already had,
	// and the client fetches again only once that buffer is drained. The
	// other buckets are paused, which drops their buffered records (they
	// are fetched again after), until a poll has reached each new bucket
	// that has work: one poll (one batch) reaches one or two of them.
	var old map[string][]int32
	if len(fresh) > 0 {
		if old = s.prio.ownedExcept(fresh); len(old) > 0 {
			cl.PauseFetchPartitions(old)
			defer cl.ResumeFetchPartitions(old)
		}
	}
	restricted := len(pause) > 0 || len(old) > 0
	pollCtx := ctx
	if restricted {
		var cancel context.CancelFunc
		pollCtx, cancel = context.WithTimeout(ctx, restrictedPollWait)
		defer cancel()
	}

	fetches := sess.PollRecords(pollCtx, s.cfg.MaxPollRecords)
	// A poll right after a pause may return at once with nothing: the
	// paused records were dropped from the buffer. Wait for the others.
	for restricted && fetches.NumRecords() == 0 && pollCtx.Err() == nil && !fetches.IsClientClosed() {
		fetches = sess.PollRecords(pollCtx, s.cfg.MaxPollRecords)
	}
	if fetches.IsClientClosed() || ctx.Err() != nil {
		return nil
	}
	fetches.EachError(func(topic string, partition int32, err error) {
		if !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled) {
			s.log.Warn("fetch error", "topic", topic, "partition", partition, "err", err)
		}
	})
	recs := fetches.Records()
	if len(recs) == 0 {
		if len(pause) > 0 && len(old) == 0 {
			s.prio.drained(resume)
		}
		return nil
	}
	s.prio.observe(fetches)
	if len(fresh) > 0 {
		s.addFresh(s.prio.unreached(fresh, fetches))
	}
	fetches.EachPartition(func(fp kgo.FetchTopicPartition) {
		if n := len(fp.Records); n > 0 {
			s.deps.Metrics.setLag(s.cfg.Name, fp.Topic, fp.Partition, max(fp.HighWatermark-fp.Records[n-1].Offset-1, 0))
		}
	})
	return s.transact(ctx, sess, recs)
}

// refreshBacklog tells the priority policy where the inputs end and where
// this worker stands, at most every PriorityCheckInterval unless forced (to
// know which newly assigned buckets have work). Otherwise only a stage with
// more than one input needs it.
func (s *Stage) refreshBacklog(ctx context.Context, cl *kgo.Client, force bool) {
	if !force && (len(s.cfg.Topics) < 2 || time.Since(s.lastEnds) < s.cfg.PriorityCheckInterval) {
		return
	}
	s.lastEnds = time.Now()
	ctx, cancel := context.WithTimeout(ctx, s.cfg.PriorityCheckInterval)
	defer cancel()
	ends, err := kadm.NewClient(cl).ListCommittedOffsets(ctx, s.cfg.Topics...)
	if err != nil {
		s.log.Debug("listing end offsets failed", "err", err)
		return
	}
	s.prio.positions(cl.CommittedOffsets())
	s.prio.positions(cl.UncommittedOffsets())
	byTopic := make(map[string]map[int32]int64)
	ends.Each(func(o kadm.ListedOffset) {
		if o.Err != nil {
			return
		}
		if byTopic[o.Topic] == nil {
			byTopic[o.Topic] = make(map[int32]int64)
		}
		byTopic[o.Topic][o.Partition] = o.Offset
	})
	s.prio.ends(byTopic)
}

// transact processes recs in one transaction. The work is not cut short by
// ctx: a stopping worker finishes its batch (bounded by the transaction
// timeout) rather than throw it away.
func (s *Stage) transact(ctx context.Context, sess *kgo.GroupTransactSession, recs []*kgo.Record) error {
	if err := sess.Begin(); err != nil {
		return fmt.Errorf("%w: begin transaction: %w", errFenced, err)
	}
	work, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.TransactionTimeout)
	defer cancel()

	start := time.Now()
	var view *blockView
	err := s.restoreBlocks(ctx, recs)
	if err != nil {
		s.log.Error("reading the retry changelogs failed; aborting the batch to retry", "err", err)
	}
	var (
		outs     [][]*kgo.Record
		outcomes []outcome
	)
	if err == nil {
		if s.blocks != nil {
			view = s.blocks.view()
		}
		outs, outcomes, err = runLanes(work, recs, s.cfg.Concurrency, func(ctx context.Context, r *kgo.Record) ([]*kgo.Record, outcome, error) {
			return s.processRecord(ctx, r, view)
		})
		if err != nil {
			s.log.Error("batch failed; aborting it to retry", "records", len(recs), "err", err)
		}
	}
	commit := err == nil
	if commit {
		if perr := s.produce(work, sess, outs); perr != nil {
			s.log.Error("producing outputs failed; aborting", "err", perr)
			commit = false
		}
	}

	if work.Err() != nil {
		commit = false // the batch overran its transaction timeout
	}
	committed, endErr := s.endTransaction(ctx, sess, commit, s.log, len(recs))
	if committed && view != nil {
		s.blocks.apply(view)
	}
	s.deps.Metrics.observeBatch(s.cfg.Name, len(recs), committed, time.Since(start))
	s.countRecords(recs, outcomes, committed)
	if endErr != nil {
		return endErr
	}
	if !commit {
		select {
		case <-ctx.Done():
		case <-time.After(s.retryPause):
		}
	}
	return nil
}

// endTransaction ends sess's transaction of records records, committing if
// commit, and says whether it committed. Ending gets its own deadline (the
// batch's may be spent). An unknown outcome is aborted, which bumps the
// producer epoch; a fenced producer, or an abort that fails too, returns
// errFenced: only a new session can go on.
func (s *Stage) endTransaction(ctx context.Context, sess *kgo.GroupTransactSession, commit bool, log *slog.Logger, records int) (bool, error) {
	end, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.SessionTimeout)
	defer cancel()
	committed, err := sess.End(end, kgo.TransactionEndTry(commit))
	switch {
	case errors.Is(err, kerr.ProducerFenced), errors.Is(err, kerr.InvalidProducerEpoch):
		return false, fmt.Errorf("%w: %w", errFenced, err)
	case err != nil:
		log.Error("ending transaction failed; aborting, its records will be processed again", "err", err)
		if _, err := sess.End(end, kgo.TryAbort); err != nil {
			return false, fmt.Errorf("%w: abort after a failed end: %w", errFenced, err)
		}
	case commit && !committed:
		log.Info("transaction aborted after a rebalance; its records will be processed again", "records", records)
	}
	return committed, nil
}

// processRecord runs the handler on one record and routes what came of
// it: outputs as they are, a permanent failure to the dead-letter topic,
// and with retries a transient failure to the next delay tier (or the
// parked topic after the last), a record of a key that has older records
// waiting behind them.
func (s *Stage) processRecord(ctx context.Context, rec *kgo.Record, view *blockView) ([]*kgo.Record, outcome, error) {
	if view == nil {
		out, err := s.h.Process(ctx, rec)
		switch {
		case err == nil:
			return out, outcomeDone, nil
		case IsPermanent(err):
			return s.dead(rec, err), outcomeDead, nil
		default:
			return nil, outcomeDone, err
		}
	}

	meta := readRetryMeta(rec)
	loop := view.get(rec)
	changed := false
	route := func(out []*kgo.Record, oc outcome) ([]*kgo.Record, outcome, error) {
		if !changed {
			return out, oc, nil
		}
		view.set(rec, loop)
		cl, err := changelog(s.deps.Codec, rec, loop)
		if err != nil {
			return nil, oc, err
		}
		return append(out, cl), oc, nil
	}
	wait := func(seq, tier int) ([]*kgo.Record, outcome, error) {
		s.log.Debug("record waits behind an older one of its key", "key", string(rec.Key), "topic", rec.Topic,
			"partition", rec.Partition, "offset", rec.Offset, "tier", tier)
		changed = true
		return route([]*kgo.Record{toTier(s.cfg.Retry.Pipeline, tier, s.cfg.Retry.Delays[tier-1], rec, seq, meta.attempts, nil, time.Now())}, outcomeWaiting)
	}

	// Only the oldest record of a key in the retry loop is tried; the
	// others wait in the oldest one's tier and come round again.
	seq := meta.seq
	i := loop.find(seq)
	switch {
	case i > 0:
		loop.tiers[i] = loop.tiers[0]
		return wait(seq, loop.tiers[0])
	case i < 0 && !loop.empty():
		return wait(loop.join(loop.tiers[0]), loop.tiers[0])
	case i == 0:
		loop.remove(0) // back from its tier, and the oldest: tried now
		changed = true
	default:
		seq = -1 // not in the loop (a stale header would be a bug)
	}

	out, err := s.h.Process(ctx, rec)
	switch {
	case err == nil:
		return route(out, outcomeDone)
	case IsPermanent(err):
		// Bad data fails at once: no retry could mend it.
		ev, eerr := s.event(rec, schemas.StatusFailed, meta.attempts+1, meta.retryCount, err, time.Now())
		if eerr != nil {
			return nil, outcomeDead, eerr
		}
		return route(append(s.dead(rec, err), ev), outcomeDead)
	case ctx.Err() != nil:
		return nil, outcomeDone, err // stopping or out of time: the batch aborts
	}

	// A transient failure: the n-th try waits in tier n, and after the
	// last tier the item is parked. It stays the oldest of its key.
	attempts := meta.attempts + 1
	now := time.Now()
	log := s.log.With("key", string(rec.Key), "topic", rec.Topic, "partition", rec.Partition, "offset", rec.Offset, "attempt", attempts, "err", err)
	if attempts > len(s.cfg.Retry.Delays) {
		log.Error("attempts exhausted; parking the item for the reprocessor", "parked_topic", schemas.ParkedTopic(s.cfg.Retry.Pipeline))
		// The original's retry headers said where it waited; the parked
		// copy says how often it was tried.
		plain := *rec
		plain.Headers = withoutHeaders(rec.Headers, "ration.retry.")
		parked := deadLetter(schemas.ParkedTopic(s.cfg.Retry.Pipeline), s.cfg.Name, &plain, err, now)
		parked.Headers = append(parked.Headers, kgo.RecordHeader{Key: HeaderRetryAttempts, Value: []byte(strconv.Itoa(attempts))})
		ev, eerr := s.event(rec, schemas.StatusReprocess, attempts, meta.retryCount, err, now)
		if eerr != nil {
			return nil, outcomeParked, eerr
		}
		return route([]*kgo.Record{parked, ev}, outcomeParked)
	}
	if seq < 0 {
		seq = loop.next
		loop.next++
	}
	loop.seqs, loop.tiers = slices.Insert(loop.seqs, 0, seq), slices.Insert(loop.tiers, 0, attempts)
	changed = true
	delay := s.cfg.Retry.Delays[attempts-1]
	log.Error("transient failure; retrying after a delay", "tier", attempts, "delay", delay)
	ev, eerr := s.event(rec, schemas.StatusError, attempts, meta.retryCount, err, now)
	if eerr != nil {
		return nil, outcomeDelayed, eerr
	}
	return route([]*kgo.Record{toTier(s.cfg.Retry.Pipeline, attempts, delay, rec, seq, attempts, err, now), ev}, outcomeDelayed)
}

// dead returns the dead letter of a record that failed permanently, or
// nothing if the stage has no dead-letter topic.
func (s *Stage) dead(r *kgo.Record, err error) []*kgo.Record {
	if s.cfg.DeadLetterTopic == "" {
		s.log.Error("record skipped", "topic", r.Topic, "partition", r.Partition, "offset", r.Offset, "err", err)
		return nil
	}
	s.log.Error("record sent to the dead-letter topic", "topic", r.Topic, "partition", r.Partition, "offset", r.Offset, "dead_letter_topic", s.cfg.DeadLetterTopic, "err", err)
	return []*kgo.Record{deadLetter(s.cfg.DeadLetterTopic, s.cfg.Name, r, err, time.Now())}
}

// event is the status event the runtime writes for an item (its key) that
// it sent to a delay tier, parked, or failed for good.
func (s *Stage) event(rec *kgo.Record, status schemas.Status, attempt, retryCount int, cause error, now time.Time) (*kgo.Record, error) {
	v, err := s.deps.Codec.Encode(&schemas.Event{
		ItemID: string(rec.Key), Pipeline: s.cfg.Retry.Pipeline, Stage: s.cfg.Retry.Stage,
		Status: status, Attempt: attempt, RetryCount: retryCount, Worker: s.cfg.InstanceID,
		SourceTopic: rec.Topic, SourcePartition: rec.Partition, SourceOffset: rec.Offset,
		ErrorClass: Class(cause), Error: cause.Error(), Time: now,
	})
	if err != nil {
		return nil, fmt.Errorf("encode event: %w", err)
	}
	return &kgo.Record{Topic: schemas.TopicEvents, Key: rec.Key, Value: v}, nil
}

// restoreBlocks loads the retry state of the partitions of recs that this
// worker has not read since it was assigned them, and with them that of
// every other owned partition not read yet: one read after a rebalance,
// not one per batch.
func (s *Stage) restoreBlocks(ctx context.Context, recs []*kgo.Record) error {
	if s.blocks == nil {
		return nil
	}
	parts := make([]tp, 0, len(recs))
	for _, r := range recs {
		parts = append(parts, tp{r.Topic, r.Partition})
	}
	if len(s.blocks.missing(parts)) == 0 {
		return nil
	}
	for t, ps := range s.prio.ownedExcept(nil) {
		for _, p := range ps {
			parts = append(parts, tp{t, p})
		}
	}
	parts = s.blocks.missing(parts)
	ctx, cancel := context.WithTimeout(ctx, s.cfg.SessionTimeout)
	defer cancel()
	states, err := restore(ctx, s.deps.Kafka, s.deps.Codec, s.blocks.tiers, parts)
	if err != nil {
		return err
	}
	n := 0
	for _, keys := range states {
		n += len(keys)
	}
	s.log.Info("retry state restored", "partitions", len(parts), "waiting_keys", n)
	s.blocks.install(states)
	return nil
}

func (s *Stage) forgetBlocks(parts map[string][]int32) {
	if s.blocks != nil {
		s.blocks.drop(parts)
	}
}

// changelogPartitioner leaves changelog records in the partition they are
// given (their input's) and partitions everything else by key.
type changelogPartitioner struct{ byKey kgo.Partitioner }

func (p changelogPartitioner) ForTopic(topic string) kgo.TopicPartitioner {
	if strings.HasSuffix(topic, schemas.BlockedTopic("")) { // the changelog suffix
		return kgo.ManualPartitioner().ForTopic(topic)
	}
	return p.byKey.ForTopic(topic)
}

// produce sends every output in input order and waits for all of them.
func (s *Stage) produce(ctx context.Context, sess *kgo.GroupTransactSession, outs [][]*kgo.Record) error {
	var (
		mu   sync.Mutex
		errs []error
	)
	for _, out := range outs {
		for _, r := range out {
			sess.Produce(ctx, r, func(r *kgo.Record, err error) {
				if err != nil {
					mu.Lock()
					errs = append(errs, fmt.Errorf("produce to %s: %w", r.Topic, err))
					mu.Unlock()
				}
			})
		}
	}
	if err := sess.Client().Flush(ctx); err != nil {
		return err
	}
	mu.Lock()
	defer mu.Unlock()
	return errors.Join(errs...)
}

func (s *Stage) countRecords(recs []*kgo.Record, outcomes []outcome, committed bool) {
	if s.deps.Metrics == nil {
		return
	}
	type key struct{ topic, outcome string }
	counts := make(map[key]int)
	for i, r := range recs {
		name := "aborted"
		if committed && outcomes != nil {
			name = outcomeNames[outcomes[i]]
		}
		counts[key{r.Topic, name}]++
	}
	for k, n := range counts {
		s.deps.Metrics.countRecords(s.cfg.Name, k.topic, k.outcome, n)
	}
}
