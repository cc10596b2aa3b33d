package dm

import (
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/rationhq/ration/pipeline/conformance"
	"github.com/rationhq/ration/schemas"
)

// conformanceEpoch is the MarkedAt of every key's item 0; item seq is
// marked seq milliseconds later, so a result's MarkedAt names its item.
var conformanceEpoch = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

// conformanceSubject is the DM pipeline as the conformance suite runs it:
// marks of normal priority in, results out, checked by the built-in
// simulator.
var conformanceSubject = conformance.Subject{
	Name:     "dm",
	Pipeline: New,
	Input: func(codec *schemas.Codec, key string, seq int) (*kgo.Record, error) {
		v, err := codec.Encode(&Mark{UserID: key, Priority: PriorityNormal, MarkedAt: conformanceEpoch.Add(time.Duration(seq) * time.Millisecond)})
		return &kgo.Record{Topic: TopicChecks, Key: []byte(key), Value: v}, err
	},
	Output: TopicResults,
	Read: func(codec *schemas.Codec, r *kgo.Record) (string, int, error) {
		var res Result
		if err := codec.Decode(r.Value, &res); err != nil {
			return "", 0, err
		}
		if res.Status != ResultChecked || res.OpenDM == nil || *res.OpenDM != Answer(res.UserID) {
			return "", 0, fmt.Errorf("result %+v: want the simulator's answer", res)
		}
		return res.UserID, int(res.MarkedAt.Sub(conformanceEpoch) / time.Millisecond), nil
	},
}

func TestConformanceDM(t *testing.T) { conformance.Run(t, conformanceSubject) }
