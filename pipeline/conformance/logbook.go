package conformance

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/rationhq/ration/internal/await"
)

// Messages of the stage runtime the checks follow.
const (
	msgAssigned = "buckets assigned"
	msgRevoked  = "buckets revoked"
	msgLost     = "buckets lost"
)

// logLine is one JSON line a worker logged.
type logLine struct {
	Msg   string
	Attrs map[string]any
	Raw   string
}

func parseLine(raw string) logLine {
	l := logLine{Raw: raw}
	if err := json.Unmarshal([]byte(raw), &l.Attrs); err == nil {
		l.Msg, _ = l.Attrs["msg"].(string)
	}
	return l
}

func (l logLine) attr(key string) string {
	s, _ := l.Attrs[key].(string)
	return s
}

// bucket is one partition of one topic.
type bucket struct {
	Topic     string
	Partition int32
}

// buckets returns the line's "partitions" attribute.
func (l logLine) buckets() []bucket {
	byTopic, _ := l.Attrs["partitions"].(map[string]any)
	var out []bucket
	for topic, ps := range byTopic {
		list, _ := ps.([]any)
		for _, p := range list {
			if f, ok := p.(float64); ok {
				out = append(out, bucket{topic, int32(f)})
			}
		}
	}
	return out
}

// logBook is one worker's log, split into lines as it is written (by a
// JSON slog handler in this process, or a worker process's stderr).
type logBook struct {
	board *await.Board
	lines []logLine
	part  []byte // an unfinished line
}

// Write implements io.Writer.
func (b *logBook) Write(p []byte) (int, error) {
	b.board.Update(func() {
		b.part = append(b.part, p...)
		for {
			i := bytes.IndexByte(b.part, '\n')
			if i < 0 {
				break
			}
			b.lines = append(b.lines, parseLine(string(b.part[:i])))
			b.part = b.part[i+1:]
		}
	})
	return len(p), nil
}

// mark returns the number of lines so far: a position to look from.
func (b *logBook) mark() (n int) {
	b.board.Read(func() { n = len(b.lines) })
	return n
}

// find returns the first line at or after from that matches, and its
// index, or -1.
func (b *logBook) find(from int, match func(logLine) bool) (line logLine, at int) {
	at = -1
	b.board.Read(func() {
		for i := from; i < len(b.lines); i++ {
			if match(b.lines[i]) {
				line, at = b.lines[i], i
				return
			}
		}
	})
	return line, at
}

// owned replays the assigned, revoked and lost lines from line from on
// into the buckets each stage owns (cooperative assignments are
// incremental: the last line alone is not what a worker owns).
func (b *logBook) owned(from int) map[string]map[bucket]bool {
	own := make(map[string]map[bucket]bool)
	b.board.Read(func() {
		for _, l := range b.lines[min(from, len(b.lines)):] {
			stage := l.attr("stage")
			switch l.Msg {
			case msgAssigned:
				if own[stage] == nil {
					own[stage] = make(map[bucket]bool)
				}
				for _, bk := range l.buckets() {
					own[stage][bk] = true
				}
			case msgRevoked, msgLost:
				for _, bk := range l.buckets() {
					delete(own[stage], bk)
				}
			}
		}
	})
	return own
}

// msgs returns the messages of the lines from from on, for a test log.
func (b *logBook) msgs(from int) []string {
	var out []string
	b.board.Read(func() {
		for _, l := range b.lines[min(from, len(b.lines)):] {
			out = append(out, l.Msg)
		}
	})
	return out
}

// msg matches lines with one of msgs.
func msg(msgs ...string) func(logLine) bool {
	return func(l logLine) bool { return slices.Contains(msgs, l.Msg) }
}

// dump writes the last lines of the log to t's output.
func (b *logBook) dump(t *testing.T, name string) {
	const keep = 60
	var lines []string
	b.board.Read(func() {
		for _, l := range b.lines[max(0, len(b.lines)-keep):] {
			lines = append(lines, l.Raw)
		}
		if len(b.part) > 0 {
			lines = append(lines, string(b.part))
		}
	})
	t.Logf("worker %s, last %d log lines:\n%s", name, keep, strings.Join(lines, "\n"))
}
