package bench

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/rationhq/ration/internal/kafkaconn"
	"github.com/rationhq/ration/internal/roles"
	"github.com/rationhq/ration/pipelines/points"
	"github.com/rationhq/ration/processor"
	"github.com/rationhq/ration/schemas"
)

// PointsLedgerConfig configures `ration bench points-ledger`.
type PointsLedgerConfig struct {
	// Commands per run, over Groups groups of four members. Defaults
	// 200 000 and 1 000.
	Commands, Groups int
	Workers          int
	Partitions       int32
}

// PointsLedgerReport is what a run measured: the ledger stage against a
// transactional copy of the same commands, on the same broker.
type PointsLedgerReport struct {
	Commands        int
	Ceiling, Ledger time.Duration
}

// LedgerPerSecond is commands decided per second.
func (r PointsLedgerReport) LedgerPerSecond() float64 {
	return float64(r.Commands) / r.Ledger.Seconds()
}

// CeilingPerSecond is records copied per second.
func (r PointsLedgerReport) CeilingPerSecond() float64 {
	return float64(r.Commands) / r.Ceiling.Seconds()
}

// Print writes the report; its last line is commands_per_s=<r> ratio=<ledger/ceiling>.
func (r PointsLedgerReport) Print(w io.Writer) {
	fmt.Fprintf(w, "commands=%d ceiling=%.0f/s ledger=%.0f/s\n", r.Commands, r.CeilingPerSecond(), r.LedgerPerSecond())
	fmt.Fprintf(w, "commands_per_s=%.0f ratio=%.3f\n", r.LedgerPerSecond(), r.LedgerPerSecond()/r.CeilingPerSecond())
}

// RunPointsLedger times the ledger stage deciding commands that are
// already in Kafka — the points pipeline without HTTP — against the
// ceiling of the same broker, a transactional copy of those commands;
// each side runs twice, taking turns, and the faster run counts.
func RunPointsLedger(ctx context.Context, cfg PointsLedgerConfig, progress io.Writer) (PointsLedgerReport, error) {
	if cfg.Commands == 0 {
		cfg.Commands = 200_000
	}
	if cfg.Groups == 0 {
		cfg.Groups = 1_000
	}
	if cfg.Workers == 0 {
		cfg.Workers = 2
	}
	if cfg.Partitions == 0 {
		cfg.Partitions = kafkaconn.Defaults().Partitions
	}
	rep := PointsLedgerReport{Commands: cfg.Commands}
	b, err := startInProcess(ctx, cfg.Partitions, points.New())
	if err != nil {
		return rep, err
	}
	defer b.Close()
	env, seed, cl := b.env, b.seed, b.cl
	dmCfg := DMConfig{Users: cfg.Commands, Workers: cfg.Workers, Partitions: cfg.Partitions}
	rng := rand.New(rand.NewPCG(1, 2))
	var best time.Duration
	for run := 1; run <= 2; run++ {
		fmt.Fprintf(progress, "producing %d commands...\n", cfg.Commands)
		if err := produceCommands(ctx, cl, env.Codec, rng, run, cfg.Commands, cfg.Groups); err != nil {
			return rep, err
		}
		c, err := runCeiling(ctx, dmCfg, seed, points.TopicCommands, run, progress)
		if err != nil {
			return rep, err
		}
		if rep.Ceiling == 0 || c < rep.Ceiling {
			rep.Ceiling = c
		}
		fmt.Fprintf(progress, "ledger %d...\n", run)
		from, err := endOffsets(ctx, cl, points.TopicOutcomes)
		if err != nil {
			return rep, err
		}
		stop, err := startWorkers(ctx, cfg.Workers, env, points.Name, nil)
		if err != nil {
			return rep, err
		}
		took, err := awaitRecords(ctx, seed, from, cfg.Commands)
		stop()
		if err != nil {
			return rep, err
		}
		if best == 0 || took < best {
			best = took
		}
	}
	rep.Ledger = best
	return rep, nil
}

// produceCommands writes n commands of run to the commands topic: each
// group's creation and three joins (the first run), then bills and
// redemptions, half of each, redemptions often beyond the balance.
func produceCommands(ctx context.Context, cl *kgo.Client, codec *schemas.Codec, rng *rand.Rand, run, n, groups int) error {
	tv := points.Line{ItemID: "tv", Name: "tv", Quantity: 1, Price: 40_000, Points: 60,
		Discount: points.Discount{Percent: 10, MinMembers: 4}}
	const chunk = 10_000
	recs := make([]*kgo.Record, 0, chunk)
	flush := func() error {
		err := cl.ProduceSync(ctx, recs...).FirstErr()
		recs = recs[:0]
		return err
	}
	now := time.Now()
	for i := range n {
		g := i % groups
		group := fmt.Sprintf("g-%06d", g)
		user := fmt.Sprintf("001-u%05d%d", g, rng.IntN(4))
		id := fmt.Sprintf("r%d-%d", run, i)
		c := points.Command{ID: points.CommandKey(user, id), CommandID: id, Issuer: user, GroupID: group, UserID: user,
			Digest: id, SentAt: now}
		switch {
		case run == 1 && i < 4*groups:
			c.Kind = points.KindJoin
			if i < groups {
				c.Kind, c.Name, c.Location = points.KindCreate, group, "bench"
			}
			c.UserID = fmt.Sprintf("001-u%05d%d", g, i/groups)
		case rng.IntN(2) == 0:
			c.Kind, c.Lines = points.KindBill, []points.Line{tv}
		default:
			c.Kind, c.Points = points.KindRedeem, int64(10+rng.IntN(100))
		}
		v, err := codec.Encode(&c)
		if err != nil {
			return err
		}
		recs = append(recs, &kgo.Record{Topic: points.TopicCommands, Key: []byte(group), Value: v})
		if len(recs) == chunk {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	return flush()
}

// startWorkers runs n workers of the stages of pipeline name (nil: all).
func startWorkers(ctx context.Context, n int, env *roles.Env, name string, stages []string) (stop func(), err error) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	var ws []*processor.Stage
	for i := range n {
		t := processor.DefaultTuning()
		t.InstanceID = fmt.Sprintf("bench-%s-%d", name, i)
		w, err := env.Workers(name, stages, t)
		if err != nil {
			cancel()
			return nil, err
		}
		ws = append(ws, w...)
	}
	go func() {
		defer close(done)
		errs := make(chan error, len(ws))
		for _, w := range ws {
			go func() { errs <- w.Run(ctx) }()
		}
		for range ws {
			<-errs
		}
	}()
	return func() { cancel(); <-done }, nil
}
