package dm

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/rationhq/ration"
	"github.com/rationhq/ration/api"
	"github.com/rationhq/ration/internal/obs"
	"github.com/rationhq/ration/schemas"
)

// The DM API's page sizes (RC-8): GET /v1/dm/users returns at most
// MaxPageSize users, DefaultPageSize without ?limit.
const DefaultPageSize = 1_000

// routes serves the DM API: registering and marking users (write), their
// state, lists, history and stats (read).
type routes struct {
	b        api.Backends
	producer *Producer // nil without Kafka
	reader   ration.DMReader
	log      *slog.Logger
	accepted *prometheus.CounterVec
}

// Routes returns the DM pipeline's HTTP routes over b: writes to b.Kafka,
// reads from the state view's tables in b.ClickHouse.
func Routes(b api.Backends) ([]api.Route, error) {
	var reader ration.DMReader
	if b.ClickHouse != nil {
		r, err := NewReader(b.ClickHouse, b.Database)
		if err != nil {
			return nil, err
		}
		reader = r
	}
	return RoutesWith(b, reader), nil
}

// RoutesWith returns the routes answering reads from reader (nil: reads
// answer 503), for tests of the HTTP side alone.
func RoutesWith(b api.Backends, reader ration.DMReader) []api.Route {
	rs := &routes{b: b, reader: reader, log: b.Log}
	if rs.log == nil {
		rs.log = slog.New(slog.DiscardHandler)
	}
	rs.log = rs.log.With("component", "api", "pipeline", Name)
	if b.Kafka != nil {
		rs.producer = NewProducer(b.Kafka, b.Codec)
	}
	if b.Registry != nil {
		rs.accepted = obs.Register(b.Registry, prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ration_api_user_ids_accepted_total",
			Help: "Distinct user ids that write requests handed to Kafka, by route.",
		}, []string{"route"}))
	}
	return rs.list()
}

func (rs *routes) list() []api.Route {
	return []api.Route{
		{Method: http.MethodPost, Path: "/v1/dm/users", Scope: schemas.ScopeWrite, Handle: rs.registerUsers},
		{Method: http.MethodGet, Path: "/v1/dm/users", Scope: schemas.ScopeRead, Handle: rs.listUsers},
		{Method: http.MethodGet, Path: "/v1/dm/users/{id}", Scope: schemas.ScopeRead, Handle: rs.getUser},
		{Method: http.MethodGet, Path: "/v1/dm/users/{id}/history", Scope: schemas.ScopeRead, Handle: rs.userHistory},
		{Method: http.MethodPost, Path: "/v1/dm/checks", Scope: schemas.ScopeWrite, Handle: rs.markUsers},
		{Method: http.MethodGet, Path: "/v1/dm/stats", Scope: schemas.ScopeRead, Handle: rs.stats},
	}
}

// acceptedBody answers a write: how many distinct ids Kafka acknowledged.
type acceptedBody struct {
	Accepted int `json:"accepted"`
}

// registerUsers is POST /v1/dm/users.
func (rs *routes) registerUsers(w http.ResponseWriter, r *http.Request) error {
	if rs.producer == nil {
		return api.Unavailable("writes are not enabled on this server", nil)
	}
	ids, herr := decodeRegister(r.Header.Get("Content-Type"), http.MaxBytesReader(w, r.Body, rs.b.Config.MaxBodyBytes), rs.b.Config.MaxIDs)
	if herr != nil {
		return herr
	}
	return rs.produce(w, r, "POST /v1/dm/users", len(ids), func(ctx context.Context) error {
		return rs.producer.Register(ctx, ids)
	})
}

// markUsers is POST /v1/dm/checks.
func (rs *routes) markUsers(w http.ResponseWriter, r *http.Request) error {
	if rs.producer == nil {
		return api.Unavailable("writes are not enabled on this server", nil)
	}
	ids, p, herr := decodeMark(r.Header.Get("Content-Type"), http.MaxBytesReader(w, r.Body, rs.b.Config.MaxBodyBytes), rs.b.Config.MaxIDs)
	if herr != nil {
		return herr
	}
	return rs.produce(w, r, "POST /v1/dm/checks", len(ids), func(ctx context.Context) error {
		return rs.producer.Mark(ctx, ids, p)
	}, "priority", string(p))
}

// produce runs a validated write within the backend timeout and answers
// 202 only once Kafka acknowledged all of it.
func (rs *routes) produce(w http.ResponseWriter, r *http.Request, route string, n int, write func(context.Context) error, logAttrs ...any) error {
	start := time.Now()
	ctx, cancel := context.WithTimeout(r.Context(), rs.b.Config.BackendTimeout)
	defer cancel()
	if err := write(ctx); err != nil {
		return api.Unavailable("kafka did not acknowledge the request; retry it (repeating is safe)", err)
	}
	if rs.accepted != nil {
		rs.accepted.WithLabelValues(route).Add(float64(n))
	}
	rs.log.Info("request accepted", append([]any{"route", route, "ids", n, "took", time.Since(start)}, logAttrs...)...)
	api.WriteJSON(w, http.StatusAccepted, acceptedBody{Accepted: n})
	return nil
}

// getUser is GET /v1/dm/users/{id}.
func (rs *routes) getUser(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	if !ration.UserIDPattern.MatchString(id) {
		return api.BadRequest("%q is not a valid user id (1 to 64 of A-Z a-z 0-9 _ . : -)", api.Clip(id, 64))
	}
	if rs.reader == nil {
		return api.Unavailable("reads are not enabled on this server", nil)
	}
	ctx, cancel := context.WithTimeout(r.Context(), rs.b.Config.BackendTimeout)
	defer cancel()
	u, err := rs.reader.DMUser(ctx, id)
	switch {
	case errors.Is(err, ration.ErrNotFound):
		return api.Errorf(http.StatusNotFound, "user %q not found", id)
	case err != nil:
		return api.Unavailable("read store unavailable; retry later", err)
	}
	api.WriteJSON(w, http.StatusOK, u)
	return nil
}

// userHistory is GET /v1/dm/users/{id}/history?since=T: every status
// event of the user's checks since T, oldest first; by default since
// their latest mark (a day before it, for the clocks of the API that
// marked and the workers that checked), so the read covers the months of
// that check rather than every month stored.
func (rs *routes) userHistory(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	if !ration.UserIDPattern.MatchString(id) {
		return api.BadRequest("%q is not a valid user id (1 to 64 of A-Z a-z 0-9 _ . : -)", api.Clip(id, 64))
	}
	var since time.Time
	if v := r.URL.Query().Get("since"); v != "" {
		t, err := parseSince(v)
		if err != nil {
			return api.BadRequest("since %q: want an RFC 3339 time (2006-01-02T15:04:05Z) or a date (2006-01-02)", api.Clip(v, 40))
		}
		since = t
	}
	if rs.reader == nil || rs.b.History == nil {
		return api.Unavailable("reads are not enabled on this server", nil)
	}
	ctx, cancel := context.WithTimeout(r.Context(), rs.b.Config.BackendTimeout)
	defer cancel()
	u, err := rs.reader.DMUser(ctx, id)
	switch {
	case errors.Is(err, ration.ErrNotFound):
		return api.Errorf(http.StatusNotFound, "user %q not found", id)
	case err != nil:
		return api.Unavailable("read store unavailable; retry later", err)
	}
	events := []ration.ItemEvent{}
	if since.IsZero() && u.MarkedAt != nil {
		since = u.MarkedAt.Add(-historySlack)
	}
	if !since.IsZero() { // else never marked, so never checked
		if events, err = rs.b.History.ItemHistory(ctx, Name, id, since); err != nil {
			return api.Unavailable("read store unavailable; retry later", err)
		}
	}
	if events == nil {
		events = []ration.ItemEvent{} // [], never null
	}
	api.WriteJSON(w, http.StatusOK, map[string]any{"events": events})
	return nil
}

// historySlack is how long before a user's latest mark its check's events
// are looked for: the API's clock stamps the mark, the workers' the events.
const historySlack = 24 * time.Hour

// parseSince reads an RFC 3339 time or a date (midnight UTC).
func parseSince(v string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		return t, nil
	}
	return time.Parse(time.DateOnly, v)
}

// listUsers is GET /v1/dm/users?state=S&limit=N&cursor=C.
func (rs *routes) listUsers(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	state := ration.DMState(q.Get("state"))
	switch {
	case state == "":
		return api.BadRequest("state is required: one of unmarked, pending, parked, checked, failed")
	case !state.Valid():
		return api.BadRequest("state %q: want one of unmarked, pending, parked, checked, failed", api.Clip(string(state), 32))
	}
	limit := DefaultPageSize
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > MaxPageSize {
			return api.BadRequest("limit %q: want a whole number from 1 to %d", api.Clip(v, 32), MaxPageSize)
		}
		limit = n
	}
	if rs.reader == nil {
		return api.Unavailable("reads are not enabled on this server", nil)
	}
	ctx, cancel := context.WithTimeout(r.Context(), rs.b.Config.BackendTimeout)
	defer cancel()
	page, err := rs.reader.DMUsers(ctx, state, q.Get("cursor"), limit)
	switch {
	case errors.Is(err, ration.ErrBadCursor):
		return api.BadRequest("cursor: not one this server issued; start again without a cursor")
	case err != nil:
		return api.Unavailable("read store unavailable; retry later", err)
	}
	if page.Users == nil {
		// An empty page is [], never null, so clients can range over it.
		page.Users = []ration.DMUser{}
	}
	api.WriteJSON(w, http.StatusOK, page)
	return nil
}

// stats is GET /v1/dm/stats.
func (rs *routes) stats(w http.ResponseWriter, r *http.Request) error {
	if rs.reader == nil {
		return api.Unavailable("reads are not enabled on this server", nil)
	}
	ctx, cancel := context.WithTimeout(r.Context(), rs.b.Config.BackendTimeout)
	defer cancel()
	st, err := rs.reader.DMStats(ctx)
	if err != nil {
		return api.Unavailable("read store unavailable; retry later", err)
	}
	api.WriteJSON(w, http.StatusOK, st)
	return nil
}
