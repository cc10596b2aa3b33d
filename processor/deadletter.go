package processor

import (
	"strconv"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// Headers a dead letter carries besides the original record's own.
const (
	HeaderDeadStage     = "ration.dead.stage"
	HeaderDeadError     = "ration.dead.error"
	HeaderDeadTopic     = "ration.dead.topic"
	HeaderDeadPartition = "ration.dead.partition"
	HeaderDeadOffset    = "ration.dead.offset"
	HeaderDeadTime      = "ration.dead.time"
)

// deadLetter returns a copy of r for the dead-letter topic: the original
// key, value and headers, plus headers that say where it came from and why
// it could not be processed.
func deadLetter(topic, stage string, r *kgo.Record, err error, now time.Time) *kgo.Record {
	headers := append(make([]kgo.RecordHeader, 0, len(r.Headers)+6), r.Headers...)
	headers = append(headers,
		kgo.RecordHeader{Key: HeaderDeadStage, Value: []byte(stage)},
		kgo.RecordHeader{Key: HeaderDeadError, Value: []byte(err.Error())},
		kgo.RecordHeader{Key: HeaderDeadTopic, Value: []byte(r.Topic)},
		kgo.RecordHeader{Key: HeaderDeadPartition, Value: []byte(strconv.Itoa(int(r.Partition)))},
		kgo.RecordHeader{Key: HeaderDeadOffset, Value: []byte(strconv.FormatInt(r.Offset, 10))},
		kgo.RecordHeader{Key: HeaderDeadTime, Value: []byte(now.UTC().Format(time.RFC3339Nano))},
	)
	return &kgo.Record{Topic: topic, Key: r.Key, Value: r.Value, Headers: headers}
}
