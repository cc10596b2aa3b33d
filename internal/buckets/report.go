package buckets

import (
	"math"

	"github.com/rationhq/ration"
)

// report turns a sample into what operators read. Rates are measured
// against prev, the sample before (nil: no rates yet, and drain times are
// unknown wherever records wait).
func report(cur, prev *snapshot) ration.BucketsReport {
	r := ration.BucketsReport{SampledAt: ration.Timestamp{Time: cur.at}, Pipelines: []ration.PipelineBuckets{}}
	var before map[groupBucket]int64
	var elapsed float64
	if prev != nil {
		elapsed = cur.at.Sub(prev.at).Seconds()
	}
	if elapsed > 0 {
		before = positions(prev)
		r.RateIntervalSeconds = round(elapsed)
	}
	pipeline := make(map[string]int)
	for _, s := range cur.stages {
		i, ok := pipeline[s.Pipeline]
		if !ok {
			i = len(r.Pipelines)
			pipeline[s.Pipeline] = i
			r.Pipelines = append(r.Pipelines, ration.PipelineBuckets{Name: s.Pipeline, Stages: []ration.StageBuckets{}})
		}
		r.Pipelines[i].Stages = append(r.Pipelines[i].Stages, stageReport(cur, s, before, elapsed))
	}
	return r
}

// stageReport is one stage's buckets and their totals; before holds the
// previous sample's positions, elapsed seconds ago (none: no rates).
func stageReport(cur *snapshot, s stageState, before map[groupBucket]int64, elapsed float64) ration.StageBuckets {
	out := ration.StageBuckets{Name: s.Name, Group: s.Group, Members: s.members, Buckets: make([]ration.Bucket, 0, len(s.buckets))}
	var rate float64
	for _, b := range s.buckets {
		var lag int64
		var oldest float64
		if b.waiting != nil {
			lag = max(0, b.end-b.waiting.offset)
			// Record timestamps come from producers' clocks; one ahead of
			// ours waits for no time, not for negative time.
			oldest = max(0, cur.at.Sub(b.waiting.at).Seconds())
		}
		var bucketRate float64
		if was, ok := before[groupBucket{s.Group, b.tp}]; ok {
			// An offset that moved back (a reset) is no progress.
			bucketRate = float64(max(0, b.position-was)) / elapsed
		}
		out.Buckets = append(out.Buckets, ration.Bucket{Topic: b.topic, Partition: b.partition, Owner: b.owner, Lag: lag,
			RecordsPerSecond: round(bucketRate), OldestWaitingSeconds: round(oldest), DrainSeconds: drain(lag, bucketRate)})
		out.Lag += lag
		rate += bucketRate
		out.OldestWaitingSeconds = max(out.OldestWaitingSeconds, round(oldest))
	}
	out.RecordsPerSecond = round(rate)
	out.DrainSeconds = drain(out.Lag, rate)
	return out
}

// groupBucket is a bucket as one group sees it: two stages may read one
// topic at different positions.
type groupBucket struct {
	group string
	tp
}

func positions(s *snapshot) map[groupBucket]int64 {
	m := make(map[groupBucket]int64)
	for _, st := range s.stages {
		for _, b := range st.buckets {
			m[groupBucket{st.Group, b.tp}] = b.position
		}
	}
	return m
}

// drain is how long lag takes at rate: 0 with nothing waiting, nil when
// something waits and nothing moves.
func drain(lag int64, rate float64) *float64 {
	switch {
	case lag == 0:
		d := 0.0
		return &d
	case rate <= 0:
		return nil
	}
	d := round(float64(lag) / rate)
	return &d
}

// round keeps three decimals: milliseconds, or thousandths of a record
// per second.
func round(f float64) float64 { return math.Round(f*1000) / 1000 }
