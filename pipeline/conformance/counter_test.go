package conformance

import (
	"context"
	"strconv"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/rationhq/ration/pipeline"
	"github.com/rationhq/ration/processor"
	"github.com/rationhq/ration/schemas"
)

// The counter: one stateful stage that counts each key's increments in
// its state and writes the running count; its n-th output of a key (from
// 0) is "key/n", so the suite reads seqs.
const (
	counterIn    = "ration.counter.in"
	counterOut   = "ration.counter.out"
	counterStage = "count"
)

var counter = Subject{
	Name:     "counter",
	Pipeline: counterPipeline,
	Input: func(_ *schemas.Codec, key string, seq int) (*kgo.Record, error) {
		return &kgo.Record{Topic: counterIn, Key: []byte(key), Value: []byte(key + "/" + strconv.Itoa(seq))}, nil
	},
	Output: counterOut,
	Read:   readKeySeq,
}

func counterPipeline() pipeline.Descriptor {
	return pipeline.Descriptor{
		Name:   "counter",
		Topics: []pipeline.Topic{{Name: counterIn}, {Name: counterOut}},
		Stages: []pipeline.Stage{{
			Name: counterStage, Inputs: []string{counterIn}, Outputs: []string{counterOut}, State: true,
			Retry: []time.Duration{20 * time.Millisecond, 40 * time.Millisecond, 80 * time.Millisecond},
			Handler: func(pipeline.Env) (processor.Handler, error) {
				return processor.HandlerFunc(count), nil
			},
		}},
	}
}

// count adds one to the record key's count.
func count(_ context.Context, r *kgo.Record, st processor.State) ([]*kgo.Record, error) {
	n := 0
	if v, ok := st.Get(string(r.Key)); ok {
		var err error
		if n, err = strconv.Atoi(string(v)); err != nil {
			return nil, processor.Permanent(err)
		}
	}
	st.Put(string(r.Key), []byte(strconv.Itoa(n+1)))
	return []*kgo.Record{{Topic: counterOut, Key: r.Key, Value: []byte(string(r.Key) + "/" + strconv.Itoa(n))}}, nil
}
