package processor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"golang.org/x/sync/errgroup"

	"github.com/rationhq/ration/internal/kafkaconn"
	"github.com/rationhq/ration/schemas"
)

// Handler is a stage's logic: it turns one input record into the records
// to produce in the same transaction. It must not keep rec. st is the
// state of rec's bucket when the stage has Config.State, else nil.
//
// Its error says what became of the record: nil, it was processed (the
// runtime writes a SUCCESS or PROCESSED event); ErrRejected (Reject),
// the item was refused for good and the outputs returned with the error
// say so (a FAILED event, no dead letter); ErrPermanent, the record can
// never be processed (it goes to the dead-letter topic with a FAILED
// event); anything else is transient (see Retry). State changes of a try
// that failed, transiently or permanently, are undone.
type Handler interface {
	Process(ctx context.Context, rec *kgo.Record, st State) ([]*kgo.Record, error)
}

// HandlerFunc adapts a function to Handler.
type HandlerFunc func(ctx context.Context, rec *kgo.Record, st State) ([]*kgo.Record, error)

// Process implements Handler.
func (f HandlerFunc) Process(ctx context.Context, rec *kgo.Record, st State) ([]*kgo.Record, error) {
	return f(ctx, rec, st)
}

// BatchEnder is a Handler of a stateful stage that writes something once
// per bucket and batch (a view's per-bucket counts): after the batch's
// records, EndBatch is called for each bucket they came from, and its
// records join the batch's transaction.
type BatchEnder interface {
	EndBatch(ctx context.Context, bucket int32, st State) ([]*kgo.Record, error)
}

// Deps are what a stage is given rather than configured with.
type Deps struct {
	// Kafka are the client options that reach the cluster (seed brokers,
	// SASL, logger).
	Kafka []kgo.Opt
	// Measured are options for the stage's own client only, such as a
	// client id and kprom hooks; the short-lived clients that restore
	// state or leave the group on shutdown do not get them.
	Measured []kgo.Opt
	// Log receives the stage's logs. Default: discard.
	Log *slog.Logger
	// Metrics, shared by the stages of a process. Default: none.
	Metrics *Metrics
	// Codec encodes the runtime's own records (status events, retry
	// state). Required with an events topic or retries.
	Codec *schemas.Codec
	// Store keeps the state of the owned buckets. Default: in memory.
	Store Store
}

// Stage is one worker of one stage.
type Stage struct {
	cfg    Config
	h      Handler
	deps   Deps
	log    *slog.Logger
	labels stageLabels
	prio   *priority
	// store is the state of the owned buckets: the retry loop's and the
	// handler's; nil for a stage with neither.
	store Store
	rules loopRules

	// retryPause is how long a failed batch waits before it is retried.
	retryPause time.Duration
	// limit is how many records the next batch may take (step's goroutine
	// only).
	limit batchLimit
	// end ends a batch's transaction: endTransaction, or a test's
	// stand-in for a broker whose answer is wrong.
	end func(ctx context.Context, sess *kgo.GroupTransactSession, commit bool, log *slog.Logger, records int) (committed, unsure bool, err error)
	// lastEnds is when the end offsets of the inputs were last asked for.
	lastEnds time.Time

	freshMu sync.Mutex
	fresh   map[string][]int32 // assigned and not yet reached by a poll
	joined  bool               // a first assignment arrived

	// ownMu orders a restore's choice of buckets against a release: a
	// bucket is loaded only while this worker owns it. Else a batch
	// polled before its bucket was lost or revoked would load it after
	// the release, and the next assignment would take that copy, stale
	// by whatever the next owner committed meanwhile, for restored.
	ownMu sync.Mutex
}

// New returns a stage; Run starts it.
func New(cfg Config, h Handler, deps Deps) (*Stage, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if deps.Codec == nil && (cfg.Retry != nil || cfg.EventsTopic != "") {
		return nil, errors.New("stage: status events and retries need a codec")
	}
	log := deps.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Stage{
		cfg:        cfg,
		h:          h,
		deps:       deps,
		log:        log.With("pipeline", cfg.Pipeline, "stage", cfg.Name, "instance", cfg.InstanceID),
		labels:     stageLabels{cfg.Pipeline, cfg.Name},
		prio:       newPriority(cfg.Topics, cfg.NormalShare, cfg.Priority),
		retryPause: time.Second,
		limit:      newBatchLimit(cfg.MaxPollRecords),
	}
	s.end = s.endTransaction
	if cfg.Retry != nil {
		s.rules = cfg.Retry.rules()
	}
	if cfg.Retry != nil || cfg.State {
		s.store = deps.Store
		if s.store == nil {
			s.store = NewMemoryStore()
		}
	}
	return s, nil
}

// TransactionalID is the stage's transactional id: one per worker instance,
// stable across restarts, so a restarted worker fences its old self.
func (s *Stage) TransactionalID() string { return s.cfg.TransactionalID() }

// Run joins the group and processes until ctx ends. On the way out it
// finishes the open transaction, and leaves the group if LeaveOnShutdown.
//
// With retries, Run also runs one delayer per delay tier, which returns
// due records to the inputs.
func (s *Stage) Run(ctx context.Context) error {
	s.log.Info("stage started", "group", s.cfg.Group, "topics", s.cfg.Topics, "transactional_id", s.TransactionalID())
	if err := s.checkTopics(ctx); err != nil {
		if ctx.Err() != nil {
			return nil // stopped while starting
		}
		return fmt.Errorf("stage %s.%s: %w", s.cfg.Pipeline, s.cfg.Name, err)
	}
	s.deps.Metrics.setBatchLimit(s.labels, s.limit.n)
	g, ctx := errgroup.WithContext(ctx)
	if r := s.cfg.Retry; r != nil {
		for i, delay := range r.Delays {
			d := &delayer{stage: s, tier: i + 1, delay: delay, topic: r.DelayTopics[i]}
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
// session and transaction timeouts, co-partitioned cooperative-sticky
// assignment (joining, if set, told what the member owns before each
// join), read_committed.
func (c Config) memberOpts(group, transactionalID string, joining func(owned map[string][]int32), topics ...string) []kgo.Opt {
	balancer := copartitioned(topics)
	balancer.joining = joining
	return append(kafkaconn.Session(c.SessionTimeout),
		kgo.ConsumerGroup(group),
		kgo.ConsumeTopics(topics...),
		kgo.InstanceID(c.InstanceID),
		kgo.TransactionalID(transactionalID),
		kgo.TransactionTimeout(c.TransactionTimeout),
		kgo.RebalanceTimeout(c.SessionTimeout),
		kgo.Balancers(balancer),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		// A fetch that waits for data blocks the fetches of buckets
		// assigned meanwhile; Kafka's 5s default would delay a dead
		// worker's buckets by that much.
		kgo.FetchMaxWait(500*time.Millisecond),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
	)
}

// fetchPartitionShare splits the fetch buffer between partitions: one
// partition's backlog fills at most this share of a fetch, so a batch
// drawn from the buffer reaches a newly assigned bucket after a few
// batches of each bucket before it, not after a whole buffer of one.
const fetchPartitionShare = 8

func (s *Stage) opts() []kgo.Opt {
	c := s.cfg
	opts := append(slices.Clone(s.deps.Kafka), s.deps.Measured...)
	opts = append(opts, c.memberOpts(c.Group, s.TransactionalID(), s.joining, c.Topics...)...)
	return append(opts,
		// Transaction markers come too (step skips them), so that a
		// position passes them and the priority policy sees exactly where
		// each input's backlog ends.
		kgo.KeepControlRecords(),
		kgo.FetchMaxBytes(c.FetchMaxBytes),
		kgo.FetchMaxPartitionBytes(max(c.FetchMaxBytes/fetchPartitionShare, 1<<10)),
		kgo.RecordPartitioner(changelogPartitioner{topic: c.ChangelogTopic, byKey: kgo.StickyKeyPartitioner(nil)}),
		kgo.OnPartitionsAssigned(s.assigned),
		kgo.OnPartitionsRevoked(func(_ context.Context, _ *kgo.Client, parts map[string][]int32) {
			if len(parts) > 0 {
				s.log.Info("buckets revoked", "partitions", parts)
			}
			s.release(parts)
		}),
		kgo.OnPartitionsLost(func(_ context.Context, _ *kgo.Client, parts map[string][]int32) {
			s.log.Warn("buckets lost", "partitions", parts)
			s.release(parts)
		}),
	)
}

// assigned takes the buckets a rebalance gave this worker (a cooperative
// rebalance names only the new ones). Whatever state it held of them is
// dropped, so the next batch restores them from the changelog: another
// worker may have owned them meanwhile without this one being told. A
// worker stalled past its session (a zombie) is dropped from the group and
// may, once it runs again, see an assignment from before the stall and
// restore the buckets then, while their owner goes on changing them; when
// the group gives them back, that copy is stale. Kept, it decided a points
// group's next entry from a ledger that lacked the owner's last one (the
// chaos run, seed 1: a zombie after a broker restart).
func (s *Stage) assigned(ctx context.Context, cl *kgo.Client, parts map[string][]int32) {
	first := !s.joined
	s.joined = true
	if len(parts) == 0 {
		if first {
			s.logIdle(ctx, cl)
		} else {
			// A cooperative rebalance that moved nothing to us.
			s.log.Debug("rebalance assigned no new buckets")
		}
		return
	}
	s.log.Info("buckets assigned", "partitions", parts)
	s.ownMu.Lock()
	s.dropState(parts)
	s.ownMu.Unlock()
	s.prio.assign(parts)
	s.addFresh(parts)
	s.deps.Metrics.addAssigned(s.labels, parts, 1)
}

// joining releases, as the stage's member is about to join its group, the
// buckets the stage holds and the member no longer owns. They were revoked
// without the stage being told: a GroupTransactSession passes on only the
// first revocation of a transaction (franz-go v1.22: its callback returns
// early once the session is marked revoked, until End), and a batch held
// open while the group rebalanced twice left the stage holding buckets
// that had moved on, in its lag and assignment gauges and its logs.
func (s *Stage) joining(owned map[string][]int32) {
	stale := s.prio.ownedExcept(owned)
	if len(stale) == 0 {
		return
	}
	s.log.Info("buckets revoked", "partitions", stale, "told", "at the rejoin: the revocation came while a batch was open")
	s.release(stale)
}

// release forgets buckets this worker no longer owns; whoever owns them
// next restores their state from the changelog.
func (s *Stage) release(parts map[string][]int32) {
	s.ownMu.Lock()
	s.prio.forget(parts)
	s.dropState(parts)
	s.ownMu.Unlock()
	s.deps.Metrics.addAssigned(s.labels, parts, -1)
}

// dropState forgets the state of the buckets parts names; ownMu is held.
func (s *Stage) dropState(parts map[string][]int32) {
	if s.store == nil {
		return
	}
	for _, ps := range parts {
		for _, p := range ps {
			s.store.Drop(p)
		}
	}
}

// logIdle says why a worker that joined got no bucket: every bucket is
// owned, and partitions are the limit of parallelism.
func (s *Stage) logIdle(ctx context.Context, cl *kgo.Client) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	buckets := 0
	if topics, err := kadm.NewClient(cl).ListTopics(ctx, s.cfg.Topics[0]); err == nil {
		buckets = len(topics[s.cfg.Topics[0]].Partitions)
	}
	s.log.Info("idle: every bucket is owned by another worker; a stage has as many buckets as its topics have partitions, "+
		"which is the limit of its parallelism: this worker takes over buckets when another leaves or dies",
		"group", s.cfg.Group, "buckets", buckets)
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

// restrictedPollWait bounds a poll restricted to one priority class or to
// new buckets; one that returns nothing passes the turn on.
const restrictedPollWait = 200 * time.Millisecond

// linger adds to a short batch what arrives within BatchLinger, up to
// the batch limit in all.
func (s *Stage) linger(ctx context.Context, sess *kgo.GroupTransactSession, fetches kgo.Fetches) kgo.Fetches {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.BatchLinger)
	defer cancel()
	for n := fetches.NumRecords(); n < s.limit.n && ctx.Err() == nil; n = fetches.NumRecords() {
		more := sess.PollRecords(ctx, s.limit.n-n)
		fetches = append(fetches, more...)
		if more.IsClientClosed() {
			break // the step sees it in fetches, and stops
		}
	}
	return fetches
}

// step polls one batch, as the priority policy allows, and processes it.
func (s *Stage) step(ctx context.Context, sess *kgo.GroupTransactSession) error {
	cl := sess.Client()
	fresh := s.takeFresh()
	s.refreshBacklog(ctx, cl, len(fresh) > 0)
	pause, resume := s.prio.next()
	// New buckets of a topic the priority policy holds back wait for its
	// turn: put first while their topic is paused, nothing could be fetched.
	for _, t := range pause {
		if ps, ok := fresh[t]; ok {
			s.addFresh(map[string][]int32{t: ps})
			delete(fresh, t)
		}
	}
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

	fetches := sess.PollRecords(pollCtx, s.limit.n)
	// A poll right after a pause may return at once with nothing: the
	// paused records were dropped from the buffer. Wait for the others.
	for restricted && fetches.NumRecords() == 0 && pollCtx.Err() == nil && !fetches.IsClientClosed() {
		fetches = sess.PollRecords(pollCtx, s.limit.n)
	}
	if !restricted && s.cfg.BatchLinger > 0 && fetches.NumRecords() > 0 && fetches.NumRecords() < s.limit.n {
		fetches = s.linger(ctx, sess, fetches)
	}
	if fetches.IsClientClosed() || ctx.Err() != nil {
		return nil
	}
	fetches.EachError(func(topic string, partition int32, err error) {
		if !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled) {
			s.log.Warn("fetch error", "topic", topic, "partition", partition, "err", err)
		}
	})
	if fetches.NumRecords() == 0 {
		// Nothing came, not even a marker: the fetch was slow. New
		// buckets are not put first again (their backlog may not be
		// there), and the class whose turn it was passes it on.
		if len(pause) > 0 {
			s.prio.idle()
		}
		return nil
	}
	s.prio.observe(fetches)
	if len(fresh) > 0 {
		s.addFresh(s.prio.unreached(fresh, fetches))
	}
	fetches.EachPartition(func(fp kgo.FetchTopicPartition) {
		if n := len(fp.Records); n > 0 {
			s.deps.Metrics.setLag(s.labels, fp.Topic, fp.Partition, max(fp.HighWatermark-fp.Records[n-1].Offset-1, 0))
		}
	})
	recs := slices.DeleteFunc(fetches.Records(), func(r *kgo.Record) bool { return r.Attrs.IsControl() })
	if len(recs) == 0 {
		return nil // nothing, or only markers: their offsets commit with the next batch
	}
	return s.transact(ctx, sess, recs)
}

// refreshBacklog tells the priority policy where the inputs end and where
// this worker stands, at most every PriorityCheckInterval unless forced (to
// know which newly assigned buckets have work). Otherwise only a stage with
// Priority needs it.
func (s *Stage) refreshBacklog(ctx context.Context, cl *kgo.Client, force bool) {
	if !force && (!s.cfg.Priority || time.Since(s.lastEnds) < s.cfg.PriorityCheckInterval) {
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
	var batch *batchState
	if s.store != nil {
		batch = newBatchState(s.store)
	}
	err := s.restore(ctx, recs)
	if err != nil {
		s.log.Error("restoring state from the changelog failed; aborting the batch to retry", "err", err)
	}
	var (
		outs     [][]*kgo.Record
		outcomes []outcome
	)
	if err == nil {
		lane := laneByKey
		if s.cfg.LanesByPartition {
			lane = laneByPartition
		}
		outs, outcomes, err = runLanes(work, recs, s.cfg.Concurrency, lane, func(ctx context.Context, r *kgo.Record) ([]*kgo.Record, outcome, error) {
			return s.processRecord(ctx, r, batch)
		})
		if err != nil {
			s.log.Error("batch failed; aborting it to retry", "records", len(recs), "err", err)
		}
	}
	if err == nil {
		var extra []*kgo.Record
		if extra, err = s.endBatch(work, recs, batch); err != nil {
			s.log.Error("ending the batch failed; aborting it to retry", "err", err)
		}
		outs = append(outs, extra)
	}
	commit := err == nil
	if commit && batch != nil && !s.holdsState(recs) {
		s.log.Info("a bucket of the batch was taken or given anew meanwhile; aborting it, its records will be processed again", "records", len(recs))
		commit = false
	}
	if commit {
		if perr := s.produce(work, sess, outs); perr != nil {
			s.log.Error("producing outputs failed; aborting", "err", perr)
			commit = false
		}
	}

	overran := work.Err() != nil
	if overran {
		commit = false
	}
	committed, unsure, endErr := s.end(ctx, sess, commit, s.log, len(recs))
	s.adjustLimit(len(recs), overran, committed, time.Since(start))
	switch {
	case batch == nil:
	case committed:
		batch.apply()
	case unsure:
		s.forgetState(recs)
	}
	s.deps.Metrics.observeBatch(s.labels, len(recs), committed, time.Since(start))
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

// adjustLimit sizes the next batches after one of records records (see
// batchLimit).
func (s *Stage) adjustLimit(records int, overran, committed bool, took time.Duration) {
	switch {
	case overran && s.limit.overran(records):
		s.log.Warn("a batch outran the transaction timeout and was aborted; the next batches are smaller",
			"records", records, "transaction_timeout", s.cfg.TransactionTimeout, "batch_limit", s.limit.n)
	case committed && s.limit.committed(records, took, s.cfg.TransactionTimeout):
		level := slog.LevelDebug
		if s.limit.n == s.limit.most {
			level = slog.LevelInfo
		}
		s.log.Log(context.Background(), level, "batches fit the transaction timeout again; the next may be larger", "batch_limit", s.limit.n)
	default:
		return
	}
	s.deps.Metrics.setBatchLimit(s.labels, s.limit.n)
}

// endBatch asks a BatchEnder for each bucket of the batch's records, in
// order, for its records, and returns them with the changelog records of
// every key the batch changed.
func (s *Stage) endBatch(ctx context.Context, recs []*kgo.Record, batch *batchState) ([]*kgo.Record, error) {
	if batch == nil {
		return nil, nil
	}
	var out []*kgo.Record
	if be, ok := s.h.(BatchEnder); ok && s.cfg.State {
		var buckets []int32
		for _, r := range recs {
			if !slices.Contains(buckets, r.Partition) {
				buckets = append(buckets, r.Partition)
			}
		}
		slices.Sort(buckets)
		for _, b := range buckets {
			recs, err := be.EndBatch(ctx, b, batch.bucket(b, handlerPrefix))
			if err != nil {
				return nil, err
			}
			out = append(out, recs...)
		}
	}
	batch.each(func(bucket int32, c change) {
		r := &kgo.Record{Topic: s.cfg.ChangelogTopic, Partition: bucket, Key: []byte(c.key)}
		if !c.del {
			r.Value = c.val
		}
		out = append(out, r)
	})
	return out, nil
}

// endTransaction ends sess's transaction of records records, committing if
// commit, and says whether it committed, and whether that is unsure: a
// commit whose end failed may have committed all the same (the broker can
// die after the commit and before its answer, and a retry can be refused).
// Ending gets its own deadline (the batch's may be spent). An unknown
// outcome is aborted, which bumps the producer epoch; a fenced producer, or
// an abort that fails too, returns errFenced: only a new session can go on.
func (s *Stage) endTransaction(ctx context.Context, sess *kgo.GroupTransactSession, commit bool, log *slog.Logger, records int) (committed, unsure bool, err error) {
	end, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.SessionTimeout)
	defer cancel()
	committed, err = sess.End(end, kgo.TransactionEndTry(commit))
	switch {
	case errors.Is(err, kerr.ProducerFenced), errors.Is(err, kerr.InvalidProducerEpoch):
		return false, commit, fmt.Errorf("%w: %w", errFenced, err)
	case err != nil:
		log.Error("ending transaction failed; aborting, its records will be processed again", "err", err)
		if _, err := sess.End(end, kgo.TryAbort); err != nil {
			return false, commit, fmt.Errorf("%w: abort after a failed end: %w", errFenced, err)
		}
		return false, commit, nil
	case commit && !committed:
		log.Info("transaction aborted after a rebalance; its records will be processed again", "records", records)
	}
	return committed, false, nil
}

// holdsState says whether the store still holds the state of every bucket
// of recs. A bucket dropped while the batch ran (revoked, lost, or given
// anew and so to be read again) may have been decided from a state it no
// longer had: the batch must not commit.
func (s *Stage) holdsState(recs []*kgo.Record) bool {
	s.ownMu.Lock()
	defer s.ownMu.Unlock()
	for _, r := range recs {
		if !s.store.Has(r.Partition) {
			return false
		}
	}
	return true
}

// forgetState drops the state of the buckets of recs, whose transaction
// may or may not have committed its changes to their changelog: the next
// batch that needs them restores them from the changelog, which says.
// Kept instead, a state that missed a committed change would decide the
// next records differently from what the log holds (a ledger entry
// written twice, differently).
func (s *Stage) forgetState(recs []*kgo.Record) {
	s.ownMu.Lock()
	defer s.ownMu.Unlock()
	for _, r := range recs {
		s.store.Drop(r.Partition)
	}
	s.log.Warn("the batch's transaction may have committed; its buckets' state is read again from the changelog")
}

// changelogPartitioner leaves changelog records in the partition they are
// given (their bucket's) and partitions everything else by key.
type changelogPartitioner struct {
	topic string
	byKey kgo.Partitioner
}

func (p changelogPartitioner) ForTopic(topic string) kgo.TopicPartitioner {
	if topic == p.topic {
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
	promise := func(r *kgo.Record, err error) {
		if err != nil {
			mu.Lock()
			errs = append(errs, fmt.Errorf("produce to %s: %w", r.Topic, err))
			mu.Unlock()
		}
	}
	// One timestamp for the batch's outputs: the client would read the
	// clock once per record.
	now := time.Now()
	for _, out := range outs {
		for _, r := range out {
			if r.Timestamp.IsZero() {
				r.Timestamp = now
			}
			sess.Produce(ctx, r, promise)
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
		s.deps.Metrics.countRecords(s.labels, k.topic, k.outcome, n)
	}
}
