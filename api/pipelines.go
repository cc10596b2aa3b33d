package api

import (
	"context"
	"net/http"
)

// pipelines is GET /v1/pipelines: per pipeline and stage, the buckets,
// their owners, lag, rate, oldest waiting age and drain time.
func (s *Server) pipelines(w http.ResponseWriter, r *http.Request) error {
	if s.deps.Buckets == nil {
		return Unavailable("bucket reports are not enabled on this server", nil)
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.BackendTimeout)
	defer cancel()
	report, err := s.deps.Buckets.Buckets(ctx)
	if err != nil {
		return Unavailable("Kafka unavailable; retry later", err)
	}
	WriteJSON(w, http.StatusOK, report)
	return nil
}
