package reprocess

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/rationhq/ration/schemas"
)

// TransactionalID is shared by every reprocessor: whoever starts a run
// fences the others.
const TransactionalID = "ration.reprocess"

// stateKey is the key of an item in ration.reprocess.state.
func stateKey(pipeline, item string) string { return pipeline + "/" + item }

// leasePipeline keys the lease record in ration.reprocess.state: not an
// item, but which reprocessor took over last and when.
const leasePipeline = "_lease"

// takeOver commits a lease record under TransactionalID. Initialising the
// transactional producer fences every other holder of the id: whatever it
// has open is aborted and it can commit nothing more. So once takeOver
// returns, what the others committed is all there is, and loadState sees
// it.
func takeOver(ctx context.Context, tx *kgo.Client, codec *schemas.Codec, worker string, now time.Time) error {
	rec, err := stateRecord(codec, &schemas.ReprocessState{Pipeline: leasePipeline, ItemID: worker, SentAt: now})
	if err != nil {
		return err
	}
	if err := commit(ctx, tx, rec); err != nil {
		return fmt.Errorf("take over as the active reprocessor: %w", err)
	}
	return nil
}

// loadState reads ration.reprocess.state, read-committed, to its end.
func loadState(ctx context.Context, kafka []kgo.Opt, codec *schemas.Codec) (map[string]*schemas.ReprocessState, error) {
	states := make(map[string]*schemas.ReprocessState)
	cl, err := kgo.NewClient(append(slices.Clone(kafka), kgo.FetchIsolationLevel(kgo.ReadCommitted()), kgo.KeepControlRecords())...)
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	ends, err := kadm.NewClient(cl).ListEndOffsets(ctx, schemas.TopicReprocessState)
	if err != nil {
		return nil, fmt.Errorf("state end: %w", err)
	}
	end, ok := ends.Lookup(schemas.TopicReprocessState, 0)
	if !ok || end.Err != nil {
		return nil, fmt.Errorf("state topic %s: %v", schemas.TopicReprocessState, end.Err)
	}
	if end.Offset == 0 {
		return states, nil
	}
	cl.AddConsumePartitions(map[string]map[int32]kgo.Offset{schemas.TopicReprocessState: {0: kgo.NewOffset().AtStart()}})
	for done := false; !done; {
		fs := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("reading %s: %w", schemas.TopicReprocessState, err)
		}
		if err := fs.Err0(); err != nil {
			return nil, fmt.Errorf("reading %s: %w", schemas.TopicReprocessState, err)
		}
		var derr error
		fs.EachRecord(func(r *kgo.Record) {
			done = done || r.Offset >= end.Offset-1
			if r.Attrs.IsControl() {
				return
			}
			if r.Value == nil {
				delete(states, string(r.Key))
				return
			}
			st := new(schemas.ReprocessState)
			if err := codec.Decode(r.Value, st); err != nil {
				derr = fmt.Errorf("%s@%d: %w", schemas.TopicReprocessState, r.Offset, err)
				return
			}
			if st.Pipeline != leasePipeline {
				states[string(r.Key)] = st
			}
		})
		if derr != nil {
			return nil, derr
		}
	}
	return states, nil
}

// stateRecord is the record that stores st.
func stateRecord(codec *schemas.Codec, st *schemas.ReprocessState) (*kgo.Record, error) {
	v, err := codec.Encode(st)
	if err != nil {
		return nil, fmt.Errorf("encode reprocess state: %w", err)
	}
	return &kgo.Record{Topic: schemas.TopicReprocessState, Partition: 0, Key: []byte(stateKey(st.Pipeline, st.ItemID)), Value: v}, nil
}
