package broker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sr"
)

// SchemasTopic is the compacted, single-partition topic that journals every
// schema registration, named and shaped as Confluent's registry does it.
const SchemasTopic = "_schemas"

// journalKey is a record key of SchemasTopic: one per subject version, so
// compaction keeps exactly the latest record of each. The field order is
// fixed by the struct, so equal keys are equal bytes, which compaction
// needs.
type journalKey struct {
	KeyType string `json:"keytype"` // "SCHEMA"; Confluent also writes CONFIG, NOOP, ...
	Subject string `json:"subject"`
	Version int    `json:"version"`
	Magic   int    `json:"magic"`
}

// journalValue is a record value of SchemasTopic.
type journalValue struct {
	Subject    string               `json:"subject"`
	Version    int                  `json:"version"`
	ID         int                  `json:"id"`
	SchemaType sr.SchemaType        `json:"schemaType"`
	Schema     string               `json:"schema"`
	References []sr.SchemaReference `json:"references,omitempty"`
	Metadata   *sr.SchemaMetadata   `json:"metadata,omitempty"`
	RuleSet    *sr.SchemaRuleSet    `json:"ruleSet,omitempty"`
	Deleted    bool                 `json:"deleted"`
}

const keyTypeSchema = "SCHEMA"

func (v journalValue) schema() sr.Schema {
	return sr.Schema{
		Schema:         v.Schema,
		Type:           v.SchemaType,
		References:     v.References,
		SchemaMetadata: v.Metadata,
		SchemaRuleSet:  v.RuleSet,
	}
}

// journalRecord encodes one registration as a SchemasTopic record.
func journalRecord(ss sr.SubjectSchema) (*kgo.Record, error) {
	key, err := json.Marshal(journalKey{KeyType: keyTypeSchema, Subject: ss.Subject, Version: ss.Version, Magic: 1})
	if err != nil {
		return nil, err
	}
	val, err := json.Marshal(journalValue{
		Subject:    ss.Subject,
		Version:    ss.Version,
		ID:         ss.ID,
		SchemaType: ss.Type,
		Schema:     ss.Schema.Schema,
		References: ss.References,
		Metadata:   ss.SchemaMetadata,
		RuleSet:    ss.SchemaRuleSet,
	})
	if err != nil {
		return nil, err
	}
	return &kgo.Record{Topic: SchemasTopic, Partition: 0, Key: key, Value: val}, nil
}

// ensureSchemasTopic creates SchemasTopic unless it exists.
func ensureSchemasTopic(ctx context.Context, cl *kgo.Client) error {
	compact := "compact"
	resp, err := kadm.NewClient(cl).CreateTopic(ctx, 1, -1, map[string]*string{"cleanup.policy": &compact}, SchemasTopic)
	if err == nil {
		err = resp.Err
	}
	if err != nil && !errors.Is(err, kerr.TopicAlreadyExists) {
		return fmt.Errorf("create %s: %w", SchemasTopic, err)
	}
	return nil
}

// readJournal returns every record of SchemasTopic, oldest first, reading
// up to the end offset it finds when it starts.
func readJournal(ctx context.Context, opts []kgo.Opt) ([]*kgo.Record, error) {
	cl, err := kgo.NewClient(append(opts,
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{SchemasTopic: {0: kgo.NewOffset().AtStart()}}),
	)...)
	if err != nil {
		return nil, err
	}
	defer cl.Close()

	adm := kadm.NewClient(cl)
	starts, err := adm.ListStartOffsets(ctx, SchemasTopic)
	if err == nil {
		err = starts.Error()
	}
	if err != nil {
		return nil, fmt.Errorf("list %s start: %w", SchemasTopic, err)
	}
	ends, err := adm.ListEndOffsets(ctx, SchemasTopic)
	if err == nil {
		err = ends.Error()
	}
	if err != nil {
		return nil, fmt.Errorf("list %s end: %w", SchemasTopic, err)
	}
	start, _ := starts.Lookup(SchemasTopic, 0)
	end, _ := ends.Lookup(SchemasTopic, 0)
	if start.Offset >= end.Offset {
		return nil, nil
	}

	// Compaction never removes a partition's last batch (kfake and Kafka
	// both keep the active segment), so the record at end-1 is there to
	// wait for.
	var recs []*kgo.Record
	for {
		fetches := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("read %s: %w", SchemasTopic, err)
		}
		var ferr error
		fetches.EachError(func(_ string, _ int32, err error) { ferr = errors.Join(ferr, err) })
		if ferr != nil {
			return nil, fmt.Errorf("read %s: %w", SchemasTopic, ferr)
		}
		done := false
		fetches.EachRecord(func(r *kgo.Record) {
			if r.Offset < end.Offset {
				recs = append(recs, r)
			}
			done = done || r.Offset >= end.Offset-1
		})
		if done {
			return recs, nil
		}
	}
}
