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
}

// Stage is one worker of one stage.
type Stage struct {
	cfg  Config
	h    Handler
	deps Deps
	log  *slog.Logger
	prio *priority

	// retryPause is how long a failed batch waits before it is retried.
	retryPause time.Duration
	// lastEnds is when the end offsets of the inputs were last asked for.
	lastEnds time.Time

	freshMu sync.Mutex
	fresh   map[string][]int32 // assigned since the last poll
}

// addFresh records newly assigned partitions (from the group's callback).
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
	return &Stage{
		cfg:        cfg,
		h:          h,
		deps:       deps,
		log:        log.With("stage", cfg.Name, "instance", cfg.InstanceID),
		prio:       newPriority(cfg.Topics, cfg.NormalShare),
		retryPause: time.Second,
	}, nil
}

// TransactionalID is the stage's transactional id: one per worker instance,
// stable across restarts, so a restarted worker fences its old self.
func (s *Stage) TransactionalID() string {
	return "ration." + s.cfg.Name + "." + s.cfg.InstanceID
}

// Run joins the group and processes until ctx ends. On the way out it
// finishes the open transaction, and leaves the group if LeaveOnShutdown.
func (s *Stage) Run(ctx context.Context) error {
	s.log.Info("stage started", "group", s.cfg.Group, "topics", s.cfg.Topics, "transactional_id", s.TransactionalID())
	for ctx.Err() == nil {
		if err := s.session(ctx); err != nil {
			return err
		}
	}
	return nil
}

// session runs one transactional session until ctx ends or the producer
// is fenced. A fenced producer (its transaction timed out while the worker
// stalled, or another process took its instance id) cannot be used again:
// the session is closed without leaving the group and a new one rejoins.
func (s *Stage) session(ctx context.Context) error {
	sess, err := kgo.NewGroupTransactSession(s.opts()...)
	if err != nil {
		return fmt.Errorf("stage %s: %w", s.cfg.Name, err)
	}
	for ctx.Err() == nil {
		err := s.step(ctx, sess)
		if errors.Is(err, errFenced) {
			s.log.Warn("producer fenced; rejoining with a new session", "err", err)
			sess.Close()
			return nil
		}
		if err != nil {
			sess.Close()
			return err
		}
	}
	s.close(sess)
	return nil
}

// errFenced means the session's producer epoch is no longer valid.
var errFenced = errors.New("producer fenced")

func (s *Stage) opts() []kgo.Opt {
	c := s.cfg
	opts := append(slices.Clone(s.deps.Kafka), s.deps.Measured...)
	return append(opts,
		kgo.ConsumerGroup(c.Group),
		kgo.ConsumeTopics(c.Topics...),
		kgo.InstanceID(c.InstanceID),
		kgo.TransactionalID(s.TransactionalID()),
		kgo.TransactionTimeout(c.TransactionTimeout),
		kgo.SessionTimeout(c.SessionTimeout),
		kgo.HeartbeatInterval(max(c.SessionTimeout/10, 100*time.Millisecond)),
		kgo.RebalanceTimeout(c.SessionTimeout),
		kgo.Balancers(kgo.CooperativeStickyBalancer()),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.FetchMaxBytes(c.FetchMaxBytes),
		// A fetch that waits for data blocks the fetches of buckets
		// assigned meanwhile; Kafka's 5s default would delay a dead
		// worker's buckets by that much.
		kgo.FetchMaxWait(500*time.Millisecond),
		kgo.FetchMaxPartitionBytes(c.FetchMaxBytes),
		kgo.RequireStableFetchOffsets(),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
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
			s.deps.Metrics.addAssigned(c.Name, parts, -1)
		}),
		kgo.OnPartitionsLost(func(_ context.Context, _ *kgo.Client, parts map[string][]int32) {
			s.log.Warn("buckets lost", "partitions", parts)
			s.prio.forget(parts)
			s.deps.Metrics.addAssigned(c.Name, parts, -1)
		}),
	)
}

// step polls one batch, as the priority policy allows, and processes it.
func (s *Stage) step(ctx context.Context, sess *kgo.GroupTransactSession) error {
	cl := sess.Client()
	s.refreshBacklog(ctx, cl)
	pause, resume := s.prio.next()
	cl.ResumeFetchTopics(resume...)
	if len(pause) > 0 {
		cl.PauseFetchTopics(pause...)
	}
	// Buckets just taken over from another worker come first: the fetch
	// buffer may hold many records of the buckets this worker already had,
	// and the client fetches again only once that buffer is drained. For
	// one poll the old buckets are paused, which drops their buffered
	// records (they are fetched again after).
	var old map[string][]int32
	if fresh := s.takeFresh(); len(fresh) > 0 {
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
	fetches.EachPartition(func(fp kgo.FetchTopicPartition) {
		if n := len(fp.Records); n > 0 {
			s.deps.Metrics.setLag(s.cfg.Name, fp.Topic, fp.Partition, max(fp.HighWatermark-fp.Records[n-1].Offset-1, 0))
		}
	})
	return s.transact(ctx, sess, recs)
}

// refreshBacklog tells the priority policy where the inputs end and where
// this worker stands, at most every PriorityCheckInterval. Only a stage
// with more than one input needs it.
func (s *Stage) refreshBacklog(ctx context.Context, cl *kgo.Client) {
	if len(s.cfg.Topics) < 2 || time.Since(s.lastEnds) < s.cfg.PriorityCheckInterval {
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
	outs, skipped, err := runLanes(work, recs, s.cfg.Concurrency, s.h.Process)
	commit := err == nil
	if err != nil {
		s.log.Error("batch failed; aborting it to retry", "records", len(recs), "err", err)
	} else {
		now := time.Now()
		for i, serr := range skipped {
			r := recs[i]
			if s.cfg.DeadLetterTopic == "" {
				s.log.Error("record skipped", "topic", r.Topic, "partition", r.Partition, "offset", r.Offset, "err", serr)
				continue
			}
			s.log.Error("record sent to the dead-letter topic", "topic", r.Topic, "partition", r.Partition, "offset", r.Offset, "dead_letter_topic", s.cfg.DeadLetterTopic, "err", serr)
			outs[i] = []*kgo.Record{deadLetter(s.cfg.DeadLetterTopic, s.cfg.Name, r, serr, now)}
		}
		if perr := s.produce(work, sess, outs); perr != nil {
			s.log.Error("producing outputs failed; aborting", "err", perr)
			commit = false
		}
	}

	if work.Err() != nil {
		commit = false // the batch overran its transaction timeout
	}
	// Ending gets its own deadline: the batch's may be spent.
	end, cancelEnd := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.SessionTimeout)
	defer cancelEnd()
	committed, endErr := sess.End(end, kgo.TransactionEndTry(commit))
	s.deps.Metrics.observeBatch(s.cfg.Name, len(recs), committed, time.Since(start))
	s.countRecords(recs, skipped, committed)
	switch {
	case errors.Is(endErr, kerr.ProducerFenced), errors.Is(endErr, kerr.InvalidProducerEpoch):
		return fmt.Errorf("%w: %w", errFenced, endErr)
	case endErr != nil:
		// The outcome is unknown: abort, which bumps the producer epoch.
		// If even that fails, only a new session can go on.
		s.log.Error("ending transaction failed; aborting, its records will be processed again", "err", endErr)
		if _, err := sess.End(end, kgo.TryAbort); err != nil {
			return fmt.Errorf("%w: abort after a failed end: %w", errFenced, err)
		}
	case commit && !committed:
		s.log.Info("transaction aborted after a rebalance; its records will be processed again", "records", len(recs))
	}
	if !commit {
		select {
		case <-ctx.Done():
		case <-time.After(s.retryPause):
		}
	}
	return nil
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

func (s *Stage) countRecords(recs []*kgo.Record, skipped map[int]error, committed bool) {
	if s.deps.Metrics == nil {
		return
	}
	type key struct{ topic, outcome string }
	counts := make(map[key]int)
	for i, r := range recs {
		outcome := "aborted"
		if committed {
			outcome = "committed"
			if _, ok := skipped[i]; ok {
				outcome = "skipped"
				if s.cfg.DeadLetterTopic != "" {
					outcome = "dead_lettered"
				}
			}
		}
		counts[key{r.Topic, outcome}]++
	}
	for k, n := range counts {
		s.deps.Metrics.countRecords(s.cfg.Name, k.topic, k.outcome, n)
	}
}
