package receipts

import (
	"embed"
	"time"

	"github.com/rationhq/ration/pipeline"
	"github.com/rationhq/ration/pipelines/receipts/receipttype"
	"github.com/rationhq/ration/processor"
	"github.com/rationhq/ration/schemas"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// keepEnded is how long the status view keeps a receipt after it ended.
const keepEnded = 10 * time.Minute

// statusRetention is how long the statuses topic keeps a status.
const statusRetention = 14 * 24 * time.Hour

// New returns the receipts pipeline's descriptor with the default
// options.
func New() pipeline.Descriptor { return NewWith(DefaultOptions()) }

// NewWith returns the receipts pipeline's descriptor; its stages call
// the services opts names (bound to flags before the stages start).
func NewWith(opts *Options) pipeline.Descriptor {
	migrations, err := migrationFS()
	if err != nil {
		panic(err) // embedded
	}
	d := pipeline.Descriptor{
		Name: Name,
		Topics: []pipeline.Topic{
			{Name: TopicTypes, Value: new(receipttype.Record), Compact: true},
			{Name: TopicReceived, Value: new(Receipt)},
			{Name: TopicTaxed, Value: new(Receipt)},
			{Name: TopicRegistered, Value: new(Receipt)},
			{Name: TopicRejected, Value: new(Receipt)},
			// Every receipt's latest status, for the sink: compacted, and
			// a fortnight is ample for the sink to have stored it (the
			// view keeps what it still needs in its own changelog), so
			// 7 billion receipts a year do not stay in Kafka for ever.
			{Name: TopicStatuses, Value: new(ReceiptStatus), Compact: true, Retention: statusRetention},
			{Name: TopicTotals, Value: new(ReceiptTotal), Compact: true},
		},
		Options:      opts,
		Sink:         sinkMappings(),
		Migrations:   migrations,
		Routes:       Routes,
		StateRecords: []schemas.Record{new(ReceiptStatus), new(ReceiptTotal)},
	}
	registerStage := func(name, in, out string) pipeline.Stage {
		return pipeline.Stage{
			Name:    name,
			Inputs:  []string{in},
			Outputs: []string{out, TopicRejected},
			Retry:   processor.DefaultDelays(),
			Handler: func(env pipeline.Env) (processor.Handler, error) {
				registry, err := opts.registry(name)
				if err != nil {
					return nil, err
				}
				return newRegister(env.Codec, name, registry), nil
			},
		}
	}
	d.Stages = []pipeline.Stage{
		registerStage(StageTax, TopicReceived, TopicTaxed),
		registerStage(StageLogistics, TopicTaxed, TopicRegistered),
		{
			Name:    ViewStatus,
			Inputs:  []string{TopicReceived, TopicTaxed, TopicRegistered, TopicRejected, d.EventsTopic()},
			Outputs: []string{TopicStatuses},
			State:   true,
			View:    true,
			Handler: func(env pipeline.Env) (processor.Handler, error) {
				return &statusView{codec: env.Codec, events: d.EventsTopic(), keepEnded: keepEnded, now: time.Now}, nil
			},
		},
		{
			Name:    ViewTotals,
			Inputs:  []string{TopicRegistered},
			Outputs: []string{TopicTotals},
			State:   true,
			View:    true,
			Handler: func(env pipeline.Env) (processor.Handler, error) { return &totalsView{codec: env.Codec}, nil },
		},
	}
	return d
}
