package api

import (
	"context"
	"net/http"
	"slices"
	"strconv"

	"github.com/rationhq/ration"
)

// MaxDeadLetterPage caps GET /v1/dead.
const MaxDeadLetterPage = 1000

// DeadLetterSet is one stage's dead letters, or parked items.
type DeadLetterSet struct {
	Key     ration.DeadLetterKey
	Letters ration.DeadLetters
}

// deadLetters returns the dead letters, or the parked items, of the
// request's pipeline and stage. Without a pipeline, the first pipeline's
// (dm); without a stage, the pipeline's first stage that has them.
func (s *Server) deadLetters(pipeline, stage string, parked bool) (ration.DeadLetters, ration.DeadLetterKey, error) {
	if len(s.deps.DeadLetters) == 0 {
		return nil, ration.DeadLetterKey{}, Unavailable("dead letters are not managed on this server", nil)
	}
	if pipeline == "" {
		pipeline = s.deps.DeadLetters[0].Key.Pipeline
	}
	k := ration.DeadLetterKey{Pipeline: pipeline, Stage: stage, Parked: parked}
	if stage == "" {
		if stages := s.deadLetterStages(pipeline, parked); len(stages) > 0 {
			k.Stage = stages[0]
		}
	}
	i := slices.IndexFunc(s.deps.DeadLetters, func(d DeadLetterSet) bool { return d.Key == k })
	if i < 0 {
		what := "dead letters"
		if parked {
			what = "parked items"
		}
		return nil, k, BadRequest("pipeline %q stage %q has no %s here (stages with them: %v)",
			Clip(pipeline, 32), Clip(stage, 32), what, s.deadLetterStages(pipeline, parked))
	}
	return s.deps.DeadLetters[i].Letters, k, nil
}

// deadLetterStages lists pipeline's stages that have dead letters (or
// parked items), in the order the server was given them.
func (s *Server) deadLetterStages(pipeline string, parked bool) []string {
	var out []string
	for _, d := range s.deps.DeadLetters {
		if d.Key.Pipeline == pipeline && d.Key.Parked == parked {
			out = append(out, d.Key.Stage)
		}
	}
	return out
}

// listDead is GET /v1/dead?pipeline=P&stage=S&limit=N&parked=B.
func (s *Server) listDead(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	limit := 100
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > MaxDeadLetterPage {
			return BadRequest("limit %q: want 1 to %d", Clip(v, 20), MaxDeadLetterPage)
		}
		limit = n
	}
	parked := false
	if v := q.Get("parked"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return BadRequest("parked %q: want true or false", Clip(v, 20))
		}
		parked = b
	}
	dl, _, err := s.deadLetters(q.Get("pipeline"), q.Get("stage"), parked)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.BackendTimeout)
	defer cancel()
	letters, err := dl.List(ctx, limit)
	if err != nil {
		return Unavailable("Kafka unavailable; retry later", err)
	}
	if letters == nil {
		letters = []ration.DeadLetter{}
	}
	WriteJSON(w, http.StatusOK, map[string]any{"letters": letters})
	return nil
}

// deadRequest is the body of POST /v1/dead/replay and /v1/dead/purge.
type deadRequest struct {
	Pipeline string `json:"pipeline"`
	Stage    string `json:"stage"`
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
	if err := CheckContentType(r.Header.Get("Content-Type")); err != nil {
		return err
	}
	var req deadRequest
	if err := DecodeJSON(http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes), &req); err != nil {
		return err
	}
	dl, k, err := s.deadLetters(req.Pipeline, req.Stage, req.Parked)
	if err != nil {
		return err
	}
	setAuditTarget(r, k.Pipeline+"/"+k.Stage)
	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.BackendTimeout)
	defer cancel()
	out, err := act(dl, ctx, req.DryRun)
	if err != nil {
		return Unavailable("Kafka unavailable; retry later", err)
	}
	s.log.Info("dead letters", "route", r.URL.Path, "pipeline", k.Pipeline, "stage", k.Stage, "parked", k.Parked, "letters", out.Letters,
		"replayed", out.Replayed, "purged", out.Purged, "dry_run", out.DryRun)
	WriteJSON(w, http.StatusOK, out)
	return nil
}
