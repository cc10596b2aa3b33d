package sink

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/rationhq/ration/internal/kafkaconn"
	"github.com/rationhq/ration/schemas"
)

// Layout is what a sink stores: how the records of each topic it reads
// become rows, and the DDL of the pipelines' tables.
type Layout struct {
	Mappings   []Mapping
	Migrations []Migrations
}

// Topics are the topics the layout maps.
func (l Layout) Topics() []string {
	topics := make([]string, len(l.Mappings))
	for i, m := range l.Mappings {
		topics[i] = m.Topic
	}
	return topics
}

// Sink consumes the topics of its layout and stores the records in
// ClickHouse.
type Sink struct {
	cfg     Config
	layout  Layout
	byTopic map[string]Mapping
	tables  []*Table // in the order a flush inserts them
	qdb     string   // quoted database name
	codec   *schemas.Codec
	log     *slog.Logger
	m       *metrics
	opts    []kgo.Opt

	mu  sync.Mutex // guards buf against the rebalance callbacks
	buf *buffer

	runOnce sync.Once
}

// New returns a sink of layout. kafka says where Kafka is; extra client
// options (kafkaconn.Telemetry's, for instance) are appended to the sink's
// own. log and reg may be nil.
func New(cfg Config, layout Layout, kafka kafkaconn.Config, codec *schemas.Codec, log *slog.Logger, reg prometheus.Registerer, extra ...kgo.Opt) (*Sink, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := kafka.Validate(); err != nil {
		return nil, err
	}
	if codec == nil {
		return nil, errors.New("sink: no codec")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if len(layout.Mappings) == 0 {
		return nil, errors.New("sink: no topics to store")
	}
	qdb, _ := QuoteDB(cfg.Database)
	s := &Sink{cfg: cfg, layout: layout, byTopic: make(map[string]Mapping), qdb: qdb, codec: codec,
		log: log.With("component", "sink"), m: newMetrics(reg), buf: newBuffer()}
	for _, m := range layout.Mappings {
		if _, dup := s.byTopic[m.Topic]; dup {
			return nil, fmt.Errorf("sink: topic %s mapped twice", m.Topic)
		}
		if m.Rows == nil {
			return nil, fmt.Errorf("sink: topic %s has no rows function", m.Topic)
		}
		s.byTopic[m.Topic] = m
	}
	s.opts = append(kafka.Opts(log),
		kgo.ConsumerGroup(cfg.Group),
		kgo.ConsumeTopics(layout.Topics()...),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		// Aborted transactions of the stages must never reach ClickHouse.
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		// Transaction markers come too (consume skips them), so that the
		// committed offsets and the lag move past them.
		kgo.KeepControlRecords(),
		// The sink stores in batches a flush interval apart, so a fetch
		// need not come back with the first record: it waits for
		// fetchMinBytes, or half an interval. Answering as soon as any
		// record arrived made the sink, which reads every topic, fetch
		// about as often as records were produced.
		kgo.FetchMinBytes(fetchMinBytes),
		kgo.FetchMaxWait(min(max(cfg.FlushInterval/2, time.Millisecond), fetchMaxWait)),
		// Offsets are committed by hand, after the rows are stored.
		kgo.DisableAutoCommit(),
		// No rebalance between a poll and the commit of what it returned:
		// a commit never names a partition this member no longer owns, and
		// the callbacks below never race the loop.
		kgo.BlockRebalanceOnPoll(),
		kgo.OnPartitionsRevoked(s.onLost),
		kgo.OnPartitionsLost(s.onLost),
	)
	s.opts = append(append(s.opts, kafkaconn.Session(cfg.SessionTimeout)...), extra...)
	return s, nil
}

// fetchMinBytes is what a fetch of the sink waits for, up to half a flush
// interval: at 1 000 receipts/s (about 6 MB of records a second: a
// receipt's topics held 44 MB after 7 500) a fetch every fifth of a
// second. At 300 receipts/s the sink's fetches went from about 190 a
// second (a fifth of all the broker served) to 2.
const fetchMinBytes = 1 << 20

// fetchMaxWait bounds a fetch's wait for fetchMinBytes whatever the flush
// interval: a sink that flushes by rows, with a long interval, still
// reads what arrives.
const fetchMaxWait = 500 * time.Millisecond

// onLost drops the buffered rows of partitions this member gave up: their
// offsets were not committed, so their next owner reads them again.
func (s *Sink) onLost(_ context.Context, _ *kgo.Client, lost map[string][]int32) {
	s.mu.Lock()
	s.buf.drop(lost)
	s.mu.Unlock()
	s.m.dropLag(lost)
	if len(lost) > 0 {
		s.log.Debug("partitions released", "partitions", lost)
	}
}

// Run connects to ClickHouse (waiting for it if it is not up yet), applies
// the migrations, and stores records until ctx ends. It then stores what it
// holds if ClickHouse answers at once, commits, and leaves the group. Run
// may be called once.
func (s *Sink) Run(ctx context.Context) error {
	err := errors.New("sink: Run called twice")
	s.runOnce.Do(func() { err = s.run(ctx) })
	return err
}

func (s *Sink) run(ctx context.Context) error {
	conn, err := s.connect(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	defer conn.Close()

	cl, err := kgo.NewClient(s.opts...)
	if err != nil {
		return fmt.Errorf("sink: kafka client: %w", err)
	}
	defer cl.Close()
	s.log.Info("sink running", "clickhouse", s.cfg.ClickHouse, "database", s.cfg.Database, "group", s.cfg.Group)

	for ctx.Err() == nil {
		s.poll(ctx, cl)
		if s.flushDue(time.Now()) {
			s.flush(ctx, cl, conn, false)
		}
		cl.AllowRebalance()
	}

	// Store what is held if that is quick; otherwise it is read again.
	stop, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	s.flush(stop, cl, conn, true)
	cl.AllowRebalance()
	s.log.Info("sink stopped")
	return nil
}

// connect opens ClickHouse and migrates, retrying until it works or ctx
// ends.
func (s *Sink) connect(ctx context.Context) (driver.Conn, error) {
	return untilOpen(ctx, s.log, s.cfg.Target, s.cfg.MaxBackoff, func() (driver.Conn, error) {
		return Open(ctx, s.cfg.Target, s.layout.Migrations...)
	})
}

// poll fetches records until the buffer's flush deadline and buffers
// them, never more than fill the batch.
func (s *Sink) poll(ctx context.Context, cl *kgo.Client) {
	s.mu.Lock()
	deadline, room := s.buf.deadline(s.cfg.FlushInterval), s.cfg.BatchRows-s.buf.records
	s.mu.Unlock()
	pctx := ctx
	if !deadline.IsZero() {
		var cancel context.CancelFunc
		pctx, cancel = context.WithDeadline(ctx, deadline)
		defer cancel()
	}
	fs := cl.PollRecords(pctx, room)
	fs.EachError(func(topic string, p int32, err error) {
		if !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
			s.log.Warn("fetch error", "topic", topic, "partition", p, "err", err)
		}
	})
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	fs.EachPartition(func(p kgo.FetchTopicPartition) {
		if len(p.Records) == 0 {
			return
		}
		for _, r := range p.Records {
			s.consume(r, now)
		}
		end := p.LastStableOffset
		if end < 0 {
			end = p.HighWatermark
		}
		last := p.Records[len(p.Records)-1].Offset
		s.m.lag.WithLabelValues(p.Topic, strconv.Itoa(int(p.Partition))).Set(float64(max(0, end-last-1)))
	})
}

// consume buffers r's rows; a record that cannot be stored is logged,
// counted and skipped, so that it never wedges the sink.
func (s *Sink) consume(r *kgo.Record, now time.Time) {
	m, ok := s.byTopic[r.Topic]
	if !ok || r.Attrs.IsControl() {
		s.buf.add(r, nil, now)
		return
	}
	rows, err := m.Rows(s.codec, r)
	if err != nil {
		s.m.decodeErrors.WithLabelValues(r.Topic).Inc()
		s.log.Error("record skipped", "topic", r.Topic, "partition", r.Partition, "offset", r.Offset, "err", err)
		s.buf.add(r, nil, now)
		return
	}
	for _, rw := range rows {
		s.tables = withTable(s.tables, rw.Table)
	}
	s.buf.add(r, rows, now)
}

func (s *Sink) flushDue(now time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.due(now, s.cfg.BatchRows, s.cfg.FlushInterval)
}
