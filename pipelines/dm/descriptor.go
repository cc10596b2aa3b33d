package dm

import (
	"embed"
	"io/fs"
	"log/slog"
	"time"

	"github.com/rationhq/ration/pipeline"
	"github.com/rationhq/ration/processor"
	"github.com/rationhq/ration/schemas"
)

// Name is the pipeline's name: in its topics, events, metrics, commands
// (ration worker dm) and HTTP paths (/v1/dm/...).
const Name = "dm"

// The pipeline's topics, all keyed by user id.
const (
	// TopicUsers registers users into the known universe.
	TopicUsers = "ration.dm.users"
	// TopicChecks holds normal-priority marks.
	TopicChecks = "ration.dm.checks"
	// TopicChecksHigh holds high-priority marks.
	TopicChecksHigh = "ration.dm.checks.high"
	// TopicResults holds one result per mark.
	TopicResults = "ration.dm.results"
	// TopicStates holds each user's state after every change, from the
	// state view.
	TopicStates = "ration.dm.states"
	// TopicCounts holds each bucket's users per state, from the state view
	// (key: the bucket).
	TopicCounts = "ration.dm.counts"
)

// The pipeline's stage and view.
const (
	// StageCheck checks the users of marks.
	StageCheck = "check"
	// ViewState folds registrations, marks, results and events into each
	// user's state.
	ViewState = "state"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// New returns the DM pipeline's descriptor with the default options.
func New() pipeline.Descriptor { return NewWith(DefaultOptions()) }

// NewWith returns the DM pipeline's descriptor; its check stage asks the
// checker opts names (bound to flags before the stage starts).
func NewWith(opts *Options) pipeline.Descriptor {
	migrations, err := migrationFS()
	if err != nil {
		panic(err) // embedded
	}
	d := pipeline.Descriptor{
		Name: Name,
		Topics: []pipeline.Topic{
			{Name: TopicUsers, Value: new(User)},
			{Name: TopicChecksHigh, Value: new(Mark)},
			{Name: TopicChecks, Value: new(Mark)},
			{Name: TopicResults, Value: new(Result)},
			// Tables, not logs: the latest state of each user and counts
			// of each bucket are all the read model needs, and kept for
			// good they can rebuild it after the inputs' retention.
			{Name: TopicStates, Value: new(UserState), Compact: true},
			{Name: TopicCounts, Value: new(Counts), Compact: true},
		},
		Options:      opts,
		Sink:         sinkMappings(),
		Migrations:   migrations,
		StateRecords: []schemas.Record{new(Fold), new(Counts)},
		Routes:       Routes,
	}
	d.Stages = []pipeline.Stage{
		{
			Name:     StageCheck,
			Inputs:   []string{TopicChecksHigh, TopicChecks},
			Priority: true,
			Outputs:  []string{TopicResults},
			Retry:    processor.DefaultDelays(),
			Handler: func(env pipeline.Env) (processor.Handler, error) {
				checker, err := opts.Checker()
				if err != nil {
					return nil, err
				}
				log := env.Log
				if log == nil {
					log = slog.New(slog.DiscardHandler)
				}
				return &check{codec: env.Codec, checker: checker, worker: env.InstanceID, metrics: newMetrics(env.Registry),
					log: log.With("pipeline", Name), level: opts.ItemLogLevel, now: time.Now}, nil
			},
		},
		{
			Name:    ViewState,
			Inputs:  []string{TopicUsers, TopicChecksHigh, TopicChecks, TopicResults, d.EventsTopic()},
			Outputs: []string{TopicStates, TopicCounts},
			State:   true,
			View:    true,
			Handler: func(env pipeline.Env) (processor.Handler, error) {
				return &stateView{codec: env.Codec, events: d.EventsTopic()}, nil
			},
		},
	}
	return d
}

// migrationFS is the pipeline's ClickHouse DDL.
func migrationFS() (fs.FS, error) { return fs.Sub(migrationFiles, "migrations") }
