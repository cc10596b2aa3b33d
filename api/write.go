package api

import (
	"context"
	"net/http"
	"time"
)

// acceptedBody answers a write: how many distinct ids Kafka acknowledged.
type acceptedBody struct {
	Accepted int `json:"accepted"`
}

// registerUsers is POST /v1/dm/users.
func (s *Server) registerUsers(w http.ResponseWriter, r *http.Request) error {
	if s.deps.DM == nil {
		return unavailable("writes are not enabled on this server", nil)
	}
	ids, herr := decodeRegister(r.Header.Get("Content-Type"), http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes), s.cfg.MaxIDs)
	if herr != nil {
		return herr
	}
	return s.produce(w, r, "POST /v1/dm/users", len(ids), func(ctx context.Context) error {
		return s.deps.DM.Register(ctx, ids)
	})
}

// markUsers is POST /v1/dm/checks.
func (s *Server) markUsers(w http.ResponseWriter, r *http.Request) error {
	if s.deps.DM == nil {
		return unavailable("writes are not enabled on this server", nil)
	}
	ids, p, herr := decodeMark(r.Header.Get("Content-Type"), http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes), s.cfg.MaxIDs)
	if herr != nil {
		return herr
	}
	return s.produce(w, r, "POST /v1/dm/checks", len(ids), func(ctx context.Context) error {
		return s.deps.DM.Mark(ctx, ids, p)
	}, "priority", string(p))
}

// produce runs a validated write within BackendTimeout and answers 202
// only once Kafka acknowledged all of it.
func (s *Server) produce(w http.ResponseWriter, r *http.Request, route string, n int, write func(context.Context) error, logAttrs ...any) error {
	start := time.Now()
	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.BackendTimeout)
	defer cancel()
	if err := write(ctx); err != nil {
		return unavailable("kafka did not acknowledge the request; retry it (repeating is safe)", err)
	}
	s.metrics.accepted.WithLabelValues(route).Add(float64(n))
	s.log.Info("request accepted", append([]any{"route", route, "ids", n, "took", time.Since(start)}, logAttrs...)...)
	writeJSON(w, http.StatusAccepted, acceptedBody{Accepted: n})
	return nil
}
