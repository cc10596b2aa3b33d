package chaos

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/rationhq/ration"
	"github.com/rationhq/ration/api/apiclient"
	"github.com/rationhq/ration/pipelines/dm"
	"github.com/rationhq/ration/schemas"
)

// dmLoad registers and marks a new user per request, each marked once, so
// that a mark has exactly one result; it keeps which marks the API
// acknowledged and which got no answer (a cut connection, a killed API:
// the mark may or may not be in Kafka).
type dmLoad struct {
	s   *stack
	tag string

	mu         sync.Mutex
	registered int
	acked      []string
	unanswered []string
}

// send registers user n and marks it, through API n%2, and reports
// whether the mark was acknowledged.
func (l *dmLoad) send(done context.Context, n int) bool {
	id := fmt.Sprintf("%s-u%06d", l.tag, n)
	c := l.s.loadClient(n)
	// Registering again is harmless, so it is retried until it is answered.
	for {
		if _, err := c.RegisterUsers(done, []string{id}); err == nil {
			break
		}
		if !pause(done, 100*time.Millisecond) {
			return false
		}
		c = l.s.loadClient(n + 1)
	}
	l.mu.Lock()
	l.registered++
	l.mu.Unlock()
	priority := "normal"
	if n%5 == 0 {
		priority = "high"
	}
	_, err := c.Mark(done, []string{id}, priority)
	l.mu.Lock()
	defer l.mu.Unlock()
	if err != nil {
		l.unanswered = append(l.unanswered, id)
		return false
	}
	l.acked = append(l.acked, id)
	return true
}

// pause waits d unless ctx ends first, and reports whether it waited.
func pause(ctx context.Context, d time.Duration) bool {
	select {
	case <-time.After(d):
		return true
	case <-ctx.Done():
		return false
	}
}

// dmCounts is what the DM checker found.
type dmCounts struct {
	Registered, Acked, Unanswered int
	Checked, Parked, Failed       int
	Results                       int
	Stats                         ration.DMStats
}

func (c dmCounts) String() string {
	return fmt.Sprintf("dm: registered=%d marks_acknowledged=%d marks_unanswered=%d checked=%d parked=%d failed=%d results=%d stats=%+v",
		c.Registered, c.Acked, c.Unanswered, c.Checked, c.Parked, c.Failed, c.Results, c.Stats)
}

// states lists every user checked, parked or failed, by the API's pages.
func (l *dmLoad) states(ctx context.Context, admin *apiclient.Client) (map[string]ration.DMState, error) {
	state := map[string]ration.DMState{}
	for _, s := range []ration.DMState{ration.DMChecked, ration.DMParked, ration.DMFailed} {
		cursor := ""
		for {
			page, err := admin.Users(ctx, s, cursor, 1000)
			if err != nil {
				return state, fmt.Errorf("list %s users: %w", s, err)
			}
			for _, u := range page.Users {
				state[u.UserID] = s
			}
			if cursor = page.Next; cursor == "" {
				break
			}
		}
	}
	return state, nil
}

// check waits for every acknowledged mark to end checked, parked or
// failed, then holds each against the committed results in Kafka (one per
// mark, none for a user never marked) and the API's stats.
func (l *dmLoad) check(ctx context.Context, v *violations) dmCounts {
	l.mu.Lock()
	c := dmCounts{Registered: l.registered, Acked: len(l.acked), Unanswered: len(l.unanswered)}
	acked, unanswered := append([]string(nil), l.acked...), append([]string(nil), l.unanswered...)
	l.mu.Unlock()
	admin := l.s.adminClient(0)

	deadline := time.Now().Add(drainFor)
	for {
		st, err := admin.Stats(ctx)
		if err == nil && st.Pending == 0 && st.Checked+st.Parked+st.Failed >= int64(len(acked)) {
			break
		}
		if time.Now().After(deadline) {
			v.add("dm", "marks not decided within %v of the drain: stats %+v, %v, %d marks acknowledged", drainFor, st, err, len(acked))
			break
		}
		pause(ctx, 500*time.Millisecond) // the sink announces nothing: poll its progress
	}

	// The states' table is another topic than the counts', which the
	// sink may store later (after a ClickHouse restart, much later): wait
	// until it has every acknowledged mark too.
	var state map[string]ration.DMState
	for {
		var err error
		state, err = l.states(ctx, admin)
		decided := 0
		for _, id := range acked {
			if state[id] != "" {
				decided++
			}
		}
		if err == nil && decided == len(acked) {
			break
		}
		if time.Now().After(deadline) {
			if err != nil {
				v.add("dm", "%v", err)
			}
			break
		}
		pause(ctx, 500*time.Millisecond) // the sink announces nothing: poll its progress
	}
	results, err := l.results(ctx)
	if err != nil {
		v.add("dm", "read %s: %v", dm.TopicResults, err)
	}
	checkedResults := 0
	for id, rs := range results {
		c.Results += len(rs)
		if len(rs) > 1 {
			v.add("dm", "user %s: %d results committed for one mark", id, len(rs))
		}
		if rs[0].Status == dm.ResultChecked {
			checkedResults++
		}
	}
	for _, id := range acked {
		switch state[id] {
		case ration.DMChecked:
			c.Checked++
		case ration.DMParked:
			c.Parked++
		case ration.DMFailed:
			c.Failed++
		default:
			v.add("dm", "user %s: mark acknowledged, not checked, parked or failed", id)
		}
		if state[id] == ration.DMChecked && len(results[id]) == 0 {
			v.add("dm", "user %s: checked, yet no result in Kafka", id)
		}
	}
	for _, id := range unanswered {
		if state[id] == ration.DMChecked && len(results[id]) == 0 {
			v.add("dm", "user %s: checked, yet no result in Kafka", id)
		}
	}
	st, err := admin.Stats(ctx)
	c.Stats = st
	switch {
	case err != nil:
		v.add("dm", "stats: %v", err)
	case st.Checked != int64(checkedResults):
		v.add("dm", "stats say %d users checked, Kafka has checked results for %d", st.Checked, checkedResults)
	case st.Unmarked+st.Pending+st.Parked+st.Checked+st.Failed != int64(c.Registered):
		v.add("dm", "stats count %d users, %d were registered", st.Unmarked+st.Pending+st.Parked+st.Checked+st.Failed, c.Registered)
	}
	return c
}

// results reads every committed DM result of this run's users, by user.
func (l *dmLoad) results(ctx context.Context) (map[string][]dm.Result, error) {
	out := map[string][]dm.Result{}
	err := l.s.readCommitted(ctx, dm.New(), dm.TopicResults, func(codec *schemas.Codec, r *kgo.Record) error {
		var res dm.Result
		if err := codec.Decode(r.Value, &res); err != nil {
			return err
		}
		if strings.HasPrefix(res.UserID, l.tag+"-") {
			out[res.UserID] = append(out[res.UserID], res)
		}
		return nil
	})
	return out, err
}
