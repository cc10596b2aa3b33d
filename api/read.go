package api

import (
	"context"
	"errors"
	"net/http"
	"strconv"

	"github.com/rationhq/ration"
	"github.com/rationhq/ration/schemas"
)

// getUser is GET /v1/dm/users/{id}.
func (s *Server) getUser(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	if !ration.UserIDPattern.MatchString(id) {
		return badRequest("%q is not a valid user id (1 to 64 of A-Z a-z 0-9 _ . : -)", clip(id, 64))
	}
	if s.deps.Reader == nil {
		return unavailable("reads are not enabled on this server", nil)
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.BackendTimeout)
	defer cancel()
	u, err := s.deps.Reader.DMUser(ctx, id)
	switch {
	case errors.Is(err, ration.ErrNotFound):
		return errorf(http.StatusNotFound, "user %q not found", id)
	case err != nil:
		return unavailable("read store unavailable; retry later", err)
	}
	writeJSON(w, http.StatusOK, u)
	return nil
}

// userHistory is GET /v1/dm/users/{id}/history: every status event of the
// user's checks, oldest first.
func (s *Server) userHistory(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	if !ration.UserIDPattern.MatchString(id) {
		return badRequest("%q is not a valid user id (1 to 64 of A-Z a-z 0-9 _ . : -)", clip(id, 64))
	}
	if s.deps.Reader == nil || s.deps.History == nil {
		return unavailable("reads are not enabled on this server", nil)
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.BackendTimeout)
	defer cancel()
	if _, err := s.deps.Reader.DMUser(ctx, id); errors.Is(err, ration.ErrNotFound) {
		return errorf(http.StatusNotFound, "user %q not found", id)
	} else if err != nil {
		return unavailable("read store unavailable; retry later", err)
	}
	events, err := s.deps.History.ItemHistory(ctx, schemas.PipelineDM, id)
	if err != nil {
		return unavailable("read store unavailable; retry later", err)
	}
	if events == nil {
		events = []ration.ItemEvent{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"events": events})
	return nil
}

// listUsers is GET /v1/dm/users?state=S&limit=N&cursor=C.
func (s *Server) listUsers(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	state := ration.DMState(q.Get("state"))
	switch {
	case state == "":
		return badRequest("state is required: one of unmarked, pending, parked, checked, failed")
	case !state.Valid():
		return badRequest("state %q: want one of unmarked, pending, parked, checked, failed", clip(string(state), 32))
	}
	limit := DefaultPageSize
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > MaxPageSize {
			return badRequest("limit %q: want a whole number from 1 to %d", clip(v, 32), MaxPageSize)
		}
		limit = n
	}
	if s.deps.Reader == nil {
		return unavailable("reads are not enabled on this server", nil)
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.BackendTimeout)
	defer cancel()
	page, err := s.deps.Reader.DMUsers(ctx, state, q.Get("cursor"), limit)
	switch {
	case errors.Is(err, ration.ErrBadCursor):
		return badRequest("cursor: not one this server issued; start again without a cursor")
	case err != nil:
		return unavailable("read store unavailable; retry later", err)
	}
	if page.Users == nil {
		// An empty page is [], never null, so clients can range over it.
		page.Users = []ration.DMUser{}
	}
	writeJSON(w, http.StatusOK, page)
	return nil
}

// stats is GET /v1/dm/stats.
func (s *Server) stats(w http.ResponseWriter, r *http.Request) error {
	if s.deps.Reader == nil {
		return unavailable("reads are not enabled on this server", nil)
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.BackendTimeout)
	defer cancel()
	st, err := s.deps.Reader.DMStats(ctx)
	if err != nil {
		return unavailable("read store unavailable; retry later", err)
	}
	writeJSON(w, http.StatusOK, st)
	return nil
}
