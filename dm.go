// Package ration holds the domain types that the HTTP API, the CLI and the
// ClickHouse read side share. It imports nothing of ration's own, so every
// other package may depend on it.
package ration

import (
	"context"
	"errors"
	"regexp"
	"time"
)

// ErrNotFound is returned for an item that does not exist.
var ErrNotFound = errors.New("not found")

// DMState is where a user stands in the DM-check flow.
type DMState string

// The states of a DM user. A user is unmarked until a check is asked for,
// pending until the worker's result for its latest mark is stored, and then
// checked or failed. A pending user whose check failed in every delay tier
// is parked until the reprocessor sends it again.
const (
	DMUnmarked DMState = "unmarked"
	DMPending  DMState = "pending"
	DMParked   DMState = "parked"
	DMChecked  DMState = "checked"
	DMFailed   DMState = "failed"
)

// Valid reports whether s is one of the states.
func (s DMState) Valid() bool {
	switch s {
	case DMUnmarked, DMPending, DMParked, DMChecked, DMFailed:
		return true
	}
	return false
}

// UserIDPattern is what a user id must match.
var UserIDPattern = regexp.MustCompile(`^[A-Za-z0-9_.:-]{1,64}$`)

// DMUser is the state of one user as the read API shows it.
type DMUser struct {
	UserID    string     `json:"user_id"`
	State     DMState    `json:"state"`
	Priority  *string    `json:"priority"`
	MarkedAt  *Timestamp `json:"marked_at"`
	CheckedAt *Timestamp `json:"checked_at"`
	OpenDM    *bool      `json:"open_dm"`
	Attempts  int        `json:"attempts"`
}

// DMStats counts users by state.
type DMStats struct {
	Unmarked                int64   `json:"unmarked"`
	Pending                 int64   `json:"pending"`
	Parked                  int64   `json:"parked"`
	Checked                 int64   `json:"checked"`
	Failed                  int64   `json:"failed"`
	OldestPendingAgeSeconds float64 `json:"oldest_pending_age_seconds"`
}

// DMPage is one page of a listing; Next is empty on the last page.
type DMPage struct {
	Users []DMUser `json:"users"`
	Next  string   `json:"next_cursor"`
}

// DMReader answers the read side of the DM API.
type DMReader interface {
	// DMUser returns one user, or ErrNotFound.
	DMUser(ctx context.Context, id string) (DMUser, error)
	// DMUsers lists users in state, ordered by id, after cursor (an opaque
	// value from a previous page, or "").
	DMUsers(ctx context.Context, state DMState, cursor string, limit int) (DMPage, error)
	// DMStats counts users by state.
	DMStats(ctx context.Context) (DMStats, error)
}

// TimestampLayout is RFC 3339 with milliseconds, the API's time format.
const TimestampLayout = "2006-01-02T15:04:05.000Z07:00"

// Timestamp is a time that marshals to JSON as RFC 3339 with milliseconds
// in UTC.
type Timestamp struct{ time.Time }

// NewTimestamp returns a pointer to t as a Timestamp, or nil for the zero time.
func NewTimestamp(t time.Time) *Timestamp {
	if t.IsZero() {
		return nil
	}
	return &Timestamp{t}
}

// MarshalJSON implements json.Marshaler.
func (t Timestamp) MarshalJSON() ([]byte, error) {
	return []byte(`"` + t.UTC().Format(TimestampLayout) + `"`), nil
}

// UnmarshalJSON implements json.Unmarshaler.
func (t *Timestamp) UnmarshalJSON(b []byte) error {
	parsed, err := time.Parse(`"`+time.RFC3339Nano+`"`, string(b))
	if err != nil {
		return err
	}
	t.Time = parsed
	return nil
}

// DeadLetterKey names one stage's dead letters, or with Parked its parked
// items.
type DeadLetterKey struct {
	Pipeline string
	Stage    string
	Parked   bool
}
