package points

import (
	"embed"
	"io/fs"
	"time"

	"github.com/rationhq/ration/pipeline"
	"github.com/rationhq/ration/processor"
	"github.com/rationhq/ration/schemas"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// New returns the points pipeline's descriptor.
func New() pipeline.Descriptor {
	migrations, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		panic(err) // embedded
	}
	return pipeline.Descriptor{
		Name: Name,
		Topics: []pipeline.Topic{
			{Name: TopicUsers, Value: new(User), Compact: true},
			{Name: TopicCatalogue, Value: new(Item), Compact: true},
			{Name: TopicCommands, Value: new(Command)},
			{Name: TopicOutcomes, Value: new(Outcome)},
			{Name: TopicGroups, Value: new(Group), Compact: true},
		},
		Stages: []pipeline.Stage{{
			Name:    StageLedger,
			Inputs:  []string{TopicCommands},
			Outputs: []string{TopicOutcomes, TopicGroups},
			// The ledger calls nothing outside, so a transient failure is
			// the broker's; Hold keeps a group's later commands behind one
			// that waits, so none overtakes another (PT-4).
			Retry:       processor.DefaultDelays(),
			Hold:        true,
			State:       true,
			Interactive: true, // the API waits for each command's outcome
			Handler: func(env pipeline.Env) (processor.Handler, error) {
				return &ledger{codec: env.Codec, now: time.Now}, nil
			},
		}},
		Sink:         sinkMappings(),
		Migrations:   migrations,
		Routes:       Routes,
		StateRecords: []schemas.Record{new(Group), new(Outcome)},
	}
}
