package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/rationhq/ration/internal/roles"
	"github.com/rationhq/ration/pipelines/dm"
	"github.com/rationhq/ration/processor"
	"github.com/rationhq/ration/schemas"
)

// DMConfig configures `ration bench dm`.
type DMConfig struct {
	// Users is how many marks the throughput phase checks. Default 100 000.
	Users int
	// Workers is how many workers (and copiers) run. Default 2.
	Workers int
	// Partitions of every topic. Default 12.
	Partitions int32
	// LatencyFor is how long the latency phase sends marks, at Load of
	// the measured throughput. Default 5s.
	LatencyFor time.Duration
	// Load is the share of the measured throughput the latency phase
	// sends at. Default 0.5.
	Load float64
	// Rounds is how many times each side runs. Default 3.
	Rounds int
}

func (c *DMConfig) setDefaults() {
	if c.Users == 0 {
		c.Users = 100_000
	}
	if c.Workers == 0 {
		c.Workers = 2
	}
	if c.Partitions == 0 {
		c.Partitions = 12
	}
	if c.LatencyFor == 0 {
		c.LatencyFor = 5 * time.Second
	}
	if c.Load == 0 {
		c.Load = 0.5
	}
	if c.Rounds == 0 {
		c.Rounds = 3
	}
}

// DMReport is what one run measured.
type DMReport struct {
	Users, Workers int
	Ceiling        time.Duration // transactional copy of all marks, at the steady rate (awaitRecords)
	Pipeline       time.Duration // checking all marks, at the steady rate
	LatencyP50     time.Duration // mark to committed result, at half load
	LatencyP99     time.Duration
	LatencySamples int
}

// CeilingPerSecond is the copy's records per second.
func (r DMReport) CeilingPerSecond() float64 { return float64(r.Users) / r.Ceiling.Seconds() }

// PipelinePerSecond is the pipeline's checks per second.
func (r DMReport) PipelinePerSecond() float64 { return float64(r.Users) / r.Pipeline.Seconds() }

// Ratio is pipeline throughput over the ceiling.
func (r DMReport) Ratio() float64 { return r.PipelinePerSecond() / r.CeilingPerSecond() }

// Print writes the report; its last line is ratio=<pipeline/ceiling>.
func (r DMReport) Print(w io.Writer) {
	fmt.Fprintf(w, "users=%d workers=%d\n", r.Users, r.Workers)
	fmt.Fprintf(w, "ceiling: transactional copy  %10.0f records/s (%v)\n", r.CeilingPerSecond(), r.Ceiling.Round(time.Millisecond))
	fmt.Fprintf(w, "pipeline: dm checks           %10.0f checks/s  (%v)\n", r.PipelinePerSecond(), r.Pipeline.Round(time.Millisecond))
	fmt.Fprintf(w, "mark->result at half load: p50=%v p99=%v (%d samples)\n", r.LatencyP50.Round(time.Millisecond/10), r.LatencyP99.Round(time.Millisecond/10), r.LatencySamples)
	fmt.Fprintf(w, "ratio=%.3f\n", r.Ratio())
}

// RunDM runs the DM benchmark on an in-process broker in Rounds rounds,
// each the ceiling (Workers plain transactional copiers) over Users marks
// and then the pipeline (Workers DM workers with the no-op simulator) over
// Users new marks; after the first pipeline run, a latency phase at Load
// of its throughput. The fastest run of each side counts: neither pays
// alone for warming up the broker or for a pause of it, and a side's
// best of three moves less between runs than one run (one side's run is
// a second or two, where a collection or a scheduling hiccup counts).
func RunDM(ctx context.Context, cfg DMConfig, progress io.Writer) (DMReport, error) {
	cfg.setDefaults()
	rep := DMReport{Users: cfg.Users, Workers: cfg.Workers}

	b, err := startInProcess(ctx, cfg.Partitions, dm.New())
	if err != nil {
		return rep, err
	}
	defer b.Close()
	env, codec, seed, cl := b.env, b.env.Codec, b.seed, b.cl

	for round := 1; round <= cfg.Rounds; round++ {
		fmt.Fprintf(progress, "round %d: producing %d marks...\n", round, cfg.Users)
		if err := produceMarks(ctx, cl, codec, fmt.Sprintf("r%d-", round), cfg.Users, 0); err != nil {
			return rep, err
		}
		ceiling, err := runCeiling(ctx, cfg, seed, dm.TopicChecks, round, progress)
		if err != nil {
			return rep, err
		}
		fmt.Fprintf(progress, "round %d: dm checks...\n", round)
		stop, took, err := runDMPipeline(ctx, cfg, cl, seed, env)
		if err != nil {
			return rep, err
		}
		if round == 1 {
			rep.Ceiling, rep.Pipeline = ceiling, took
			fmt.Fprintln(progress, "latency at half load...")
			lat, err := measureLatency(ctx, cl, seed, codec, rep.PipelinePerSecond()*cfg.Load, cfg.LatencyFor)
			if err != nil {
				stop()
				return rep, err
			}
			rep.LatencySamples = len(lat)
			rep.LatencyP50 = Percentile(lat, 0.50)
			rep.LatencyP99 = Percentile(lat, 0.99)
		}
		stop()
		rep.Ceiling, rep.Pipeline = min(rep.Ceiling, ceiling), min(rep.Pipeline, took)
	}
	return rep, nil
}

// runDMPipeline starts the DM workers and returns how long they took to
// commit cfg.Users results after the results topic's current end, and
// how to stop them.
func runDMPipeline(ctx context.Context, cfg DMConfig, cl *kgo.Client, seed []kgo.Opt, env *roles.Env) (stop func(), took time.Duration, err error) {
	from, err := endOffsets(ctx, cl, dm.TopicResults)
	if err != nil {
		return nil, 0, err
	}
	stop, err = startDMWorkers(ctx, cfg.Workers, env)
	if err != nil {
		return nil, 0, err
	}
	took, err = awaitRecords(ctx, seed, from, cfg.Users)
	if err != nil {
		stop()
		return nil, 0, err
	}
	return stop, took, nil
}

// endOffsets returns where topic ends now, as offsets to consume from.
func endOffsets(ctx context.Context, cl *kgo.Client, topic string) (map[string]map[int32]kgo.Offset, error) {
	ends, err := kadm.NewClient(cl).ListEndOffsets(ctx, topic)
	if err != nil {
		return nil, err
	}
	if err := ends.Error(); err != nil {
		return nil, err
	}
	from := map[string]map[int32]kgo.Offset{topic: {}}
	ends.Each(func(o kadm.ListedOffset) { from[o.Topic][o.Partition] = kgo.NewOffset().At(o.Offset) })
	return from, nil
}

// copyTopic is where the ceiling's copies go.
const copyTopic = "bench.copy"

// runCeiling copies the records of in, from its start, to copyTopic in
// transactions, with the runtime and a handler that does nothing but
// copy, in a consumer group of its own (run is its number), and times
// cfg.Users of the copies.
func runCeiling(ctx context.Context, cfg DMConfig, seed []kgo.Opt, in string, run int, progress io.Writer) (time.Duration, error) {
	fmt.Fprintf(progress, "ceiling %d: transactional copy...\n", run)
	cl, err := kgo.NewClient(seed...)
	if err != nil {
		return 0, err
	}
	from, err := endOffsets(ctx, cl, copyTopic)
	cl.Close()
	if err != nil {
		return 0, err
	}
	return timeStages(ctx, cfg.Workers, seed, in, from, cfg.Users, func(int) processor.Handler {
		return processor.HandlerFunc(func(_ context.Context, r *kgo.Record, _ processor.State) ([]*kgo.Record, error) {
			return []*kgo.Record{{Topic: copyTopic, Key: r.Key, Value: r.Value}}, nil
		})
	}, fmt.Sprintf("%s.%d", copyTopic, run))
}

func produceMarks(ctx context.Context, cl *kgo.Client, codec *schemas.Codec, prefix string, n, from int) error {
	const chunk = 10_000
	for lo := 0; lo < n; lo += chunk {
		hi := min(lo+chunk, n)
		recs := make([]*kgo.Record, 0, hi-lo)
		now := time.Now()
		for i := lo; i < hi; i++ {
			id := fmt.Sprintf("%s%09d", prefix, from+i)
			v, err := codec.Encode(&dm.Mark{UserID: id, Priority: dm.PriorityNormal, MarkedAt: now})
			if err != nil {
				return err
			}
			recs = append(recs, &kgo.Record{Topic: dm.TopicChecks, Key: []byte(id), Value: v})
		}
		if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
			return err
		}
	}
	return nil
}

// timeStages runs n stages of handler h over topic in until want records
// arrived after from, and returns how long that took.
func timeStages(ctx context.Context, n int, seed []kgo.Opt, in string, from map[string]map[int32]kgo.Offset, want int, h func(int) processor.Handler, name string) (time.Duration, error) {
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		t := processor.DefaultTuning()
		t.InstanceID = fmt.Sprintf("%s-%d", name, i)
		cfg := processor.Config{Tuning: t, Pipeline: "bench", Name: name, Group: "ration.bench." + name,
			TransactionalIDPrefix: "ration.bench." + name + ".", Topics: []string{in}}
		s, err := processor.New(cfg, h(i), processor.Deps{Kafka: seed})
		if err != nil {
			cancel()
			return 0, err
		}
		wg.Go(func() { errs <- s.Run(ctx) })
	}
	took, err := awaitRecords(ctx, seed, from, want)
	cancel()
	wg.Wait()
	close(errs)
	for e := range errs {
		err = errors.Join(err, e)
	}
	return took, err
}

// startDMWorkers runs n workers of the DM check stage (the state view,
// which no check waits for, is left out).
func startDMWorkers(ctx context.Context, n int, env *roles.Env) (stop func(), err error) {
	return startWorkers(ctx, n, env, dm.Name, []string{dm.StageCheck})
}

// awaitRecords counts committed records from the offsets from until want
// arrived, and returns how long want records take at the rate between
// the first 10% and 90% of them: the steady rate, without the start (the
// workers joining the group and sharing its buckets out) or the tail (the
// last buckets draining alone), which are a few hundred milliseconds of
// runs that last one or two seconds and would decide them.
func awaitRecords(ctx context.Context, seed []kgo.Opt, from map[string]map[int32]kgo.Offset, want int) (time.Duration, error) {
	cl, err := kgo.NewClient(append(slices.Clone(seed), kgo.ConsumePartitions(from),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()))...)
	if err != nil {
		return 0, err
	}
	defer cl.Close()
	lo, hi := want/10, want-want/10
	var loAt, hiAt time.Time
	got := 0
	for got < want {
		fs := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			return 0, fmt.Errorf("%d of %d records: %w", got, want, err)
		}
		got += fs.NumRecords()
		now := time.Now()
		if loAt.IsZero() && got >= lo {
			loAt = now
		}
		if hiAt.IsZero() && got >= hi {
			hiAt = now
		}
	}
	return time.Duration(float64(hiAt.Sub(loAt)) * float64(want) / float64(hi-lo)), nil
}

// measureLatency sends marks at rate per second for d and returns each
// one's mark-to-committed-result latency, as seen by a read_committed
// consumer of the results. The consumer starts where the results end
// before the first mark is sent: reading the throughput phase's results
// first would hold the first samples back behind them.
func measureLatency(ctx context.Context, cl *kgo.Client, seed []kgo.Opt, codec *schemas.Codec, rate float64, d time.Duration) ([]time.Duration, error) {
	from, err := endOffsets(ctx, cl, dm.TopicResults)
	if err != nil {
		return nil, err
	}
	rc, err := kgo.NewClient(append(slices.Clone(seed), kgo.ConsumePartitions(from),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()))...)
	if err != nil {
		return nil, err
	}
	defer rc.Close()

	total := max(int(rate*d.Seconds()), 1)
	sendErr := make(chan error, 1)
	go func() {
		interval := time.Duration(float64(time.Second) / rate)
		tick := time.NewTicker(max(interval, time.Millisecond))
		defer tick.Stop()
		perTick := max(1, int(rate*float64(max(interval, time.Millisecond))/float64(time.Second)))
		i := 0
		for i < total {
			select {
			case <-ctx.Done():
				sendErr <- ctx.Err()
				return
			case <-tick.C:
			}
			n := min(perTick, total-i)
			if err := produceMarks(ctx, cl, codec, latencyPrefix, n, i); err != nil {
				sendErr <- err
				return
			}
			i += n
		}
		sendErr <- nil
	}()

	var lat []time.Duration
	for len(lat) < total {
		fs := rc.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			return lat, err
		}
		now := time.Now()
		var outErr error
		fs.EachRecord(func(r *kgo.Record) {
			if !strings.HasPrefix(string(r.Key), latencyPrefix) {
				return // a result of the throughput phase
			}
			var res dm.Result
			if err := codec.Decode(r.Value, &res); err != nil {
				outErr = err
				return
			}
			lat = append(lat, now.Sub(res.MarkedAt))
		})
		if outErr != nil {
			return lat, outErr
		}
	}
	return lat, <-sendErr
}

// latencyPrefix starts the user ids of the latency phase.
const latencyPrefix = "lat"

// Percentile is the q-th quantile (0..1) of ds, nearest rank; 0 when ds is
// empty.
func Percentile(ds []time.Duration, q float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[min(len(s)-1, int(q*float64(len(s))))]
}
