package api

import (
	"context"
	"net/http"
	"strconv"

	"github.com/rationhq/ration"
)

// MaxDeadLetterPage caps GET /v1/dead.
const MaxDeadLetterPage = 1000

// ParkedSuffix names a pipeline's parked items in Deps.DeadLetters: "dm"
// holds its dead letters, "dm.parked" its parked items.
const ParkedSuffix = ".parked"

// deadLetters returns the dead letters, or the parked items, of the
// request's pipeline.
func (s *Server) deadLetters(pipeline string, parked bool) (ration.DeadLetters, error) {
	if pipeline == "" {
		pipeline = "dm"
	}
	name := pipeline
	if parked {
		name += ParkedSuffix
	}
	dl, ok := s.deps.DeadLetters[name]
	if !ok {
		if len(s.deps.DeadLetters) == 0 {
			return nil, unavailable("dead letters are not managed on this server", nil)
		}
		return nil, badRequest("pipeline %q has no dead letters here", clip(pipeline, 32))
	}
	return dl, nil
}

// listDead is GET /v1/dead?pipeline=P&limit=N&parked=B.
func (s *Server) listDead(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	limit := 100
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > MaxDeadLetterPage {
			return badRequest("limit %q: want 1 to %d", clip(v, 20), MaxDeadLetterPage)
		}
		limit = n
	}
	parked := false
	if v := q.Get("parked"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return badRequest("parked %q: want true or false", clip(v, 20))
		}
		parked = b
	}
	dl, err := s.deadLetters(q.Get("pipeline"), parked)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.BackendTimeout)
	defer cancel()
	letters, err := dl.List(ctx, limit)
	if err != nil {
		return unavailable("Kafka unavailable; retry later", err)
	}
	if letters == nil {
		letters = []ration.DeadLetter{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"letters": letters})
	return nil
}

// deadRequest is the body of POST /v1/dead/replay and /v1/dead/purge.
type deadRequest struct {
	Pipeline string `json:"pipeline"`
	Parked   bool   `json:"parked"`
	DryRun   bool   `json:"dry_run"`
}

// replayDead is POST /v1/dead/replay.
func (s *Server) replayDead(w http.ResponseWriter, r *http.Request) error {
	return s.actOnDead(w, r, ration.DeadLetters.Replay)
}

// purgeDead is POST /v1/dead/purge.
func (s *Server) purgeDead(w http.ResponseWriter, r *http.Request) error {
	return s.actOnDead(w, r, ration.DeadLetters.Purge)
}

func (s *Server) actOnDead(w http.ResponseWriter, r *http.Request, act func(ration.DeadLetters, context.Context, bool) (ration.DeadLetterOutcome, error)) error {
	if err := checkContentType(r.Header.Get("Content-Type")); err != nil {
		return err
	}
	var req deadRequest
	if err := decodeJSON(http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes), &req); err != nil {
		return err
	}
	dl, err := s.deadLetters(req.Pipeline, req.Parked)
	if err != nil {
		return err
	}
	setAuditTarget(r, req.Pipeline)
	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.BackendTimeout)
	defer cancel()
	out, err := act(dl, ctx, req.DryRun)
	if err != nil {
		return unavailable("Kafka unavailable; retry later", err)
	}
	s.log.Info("dead letters", "route", r.URL.Path, "pipeline", req.Pipeline, "parked", req.Parked, "letters", out.Letters,
		"replayed", out.Replayed, "purged", out.Purged, "dry_run", out.DryRun)
	writeJSON(w, http.StatusOK, out)
	return nil
}
