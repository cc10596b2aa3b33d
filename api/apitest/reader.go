// Package apitest holds real-enough parts for testing the HTTP API, its
// pipelines' routes and its clients: an in-memory ration.DMReader, an
// in-process Kafka (kfake) and schema registry (srfake) with the shared
// topics and those a test asks for, a client registry following it, and a
// Caller that sends requests and checks error answers. Like
// net/http/httptest it is for tests only.
package apitest

import (
	"context"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/rationhq/ration"
)

// Reader is an in-memory ration.DMReader. Its cursors are "after:<id>";
// any other cursor is ration.ErrBadCursor. It is safe for concurrent use.
type Reader struct {
	mu     sync.Mutex
	users  map[string]ration.DMUser
	events map[string][]ration.ItemEvent
	stats  ration.DMStats
	last   ListCall
	err    error
}

// ListCall is the arguments of a DMUsers call.
type ListCall struct {
	State  ration.DMState
	Cursor string
	Limit  int
}

var (
	_ ration.DMReader      = (*Reader)(nil)
	_ ration.HistoryReader = (*Reader)(nil)
)

// NewReader returns an empty reader.
func NewReader() *Reader {
	return &Reader{users: map[string]ration.DMUser{}, events: map[string][]ration.ItemEvent{}}
}

// PutEvents appends events to their items' histories.
func (m *Reader) PutEvents(events ...ration.ItemEvent) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, e := range events {
		m.events[e.Pipeline+"/"+e.ItemID] = append(m.events[e.Pipeline+"/"+e.ItemID], e)
	}
}

// Fail makes every call return err, as a read store that is down; nil
// makes them answer again.
func (m *Reader) Fail(err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.err = err
}

// ItemHistory implements ration.HistoryReader: the events put, in order.
func (m *Reader) ItemHistory(_ context.Context, pipeline, itemID string, since time.Time) ([]ration.ItemEvent, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.err != nil {
		return nil, m.err
	}
	var out []ration.ItemEvent
	for _, e := range m.events[pipeline+"/"+itemID] {
		if !e.Time.Before(since.Truncate(24 * time.Hour)) {
			out = append(out, e)
		}
	}
	return out, nil
}

// Put adds or replaces users.
func (m *Reader) Put(users ...ration.DMUser) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, u := range users {
		m.users[u.UserID] = u
	}
}

// SetStats sets what DMStats answers.
func (m *Reader) SetStats(s ration.DMStats) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.stats = s
}

// LastList returns the arguments of the latest DMUsers call.
func (m *Reader) LastList() ListCall {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.last
}

// DMUser implements ration.DMReader.
func (m *Reader) DMUser(_ context.Context, id string) (ration.DMUser, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.err != nil {
		return ration.DMUser{}, m.err
	}
	u, ok := m.users[id]
	if !ok {
		return ration.DMUser{}, ration.ErrNotFound
	}
	return u, nil
}

// DMUsers implements ration.DMReader.
func (m *Reader) DMUsers(_ context.Context, state ration.DMState, cursor string, limit int) (ration.DMPage, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.last = ListCall{State: state, Cursor: cursor, Limit: limit}
	if m.err != nil {
		return ration.DMPage{}, m.err
	}
	after, ok := strings.CutPrefix(cursor, "after:")
	if cursor != "" && !ok {
		return ration.DMPage{}, ration.ErrBadCursor
	}
	var ids []string
	for id, u := range m.users {
		if u.State == state && id > after {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	var page ration.DMPage
	for i, id := range ids {
		if i == limit {
			page.Next = "after:" + ids[i-1]
			break
		}
		page.Users = append(page.Users, m.users[id])
	}
	return page, nil
}

// DMStats implements ration.DMReader.
func (m *Reader) DMStats(context.Context) (ration.DMStats, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.err != nil {
		return ration.DMStats{}, m.err
	}
	return m.stats, nil
}
