package api

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/rationhq/ration/reprocess"
)

// Reprocessor runs reprocessing runs (a *reprocess.Reprocessor).
type Reprocessor interface {
	Run(ctx context.Context, req reprocess.Request) (reprocess.Report, error)
}

// reprocessRequest is the body of POST /v1/reprocess/runs.
type reprocessRequest struct {
	DryRun   bool   `json:"dry_run"`
	Pipeline string `json:"pipeline"`
	Status   string `json:"status"`
	Since    string `json:"since"`
}

// runReprocess is POST /v1/reprocess/runs: one run now, whatever the
// window says. It answers when the run is done. A run outlives its
// request: a client that gives up waiting (the write timeout is a minute)
// does not stop it halfway.
func (s *Server) runReprocess(w http.ResponseWriter, r *http.Request) error {
	if err := checkContentType(r.Header.Get("Content-Type")); err != nil {
		return err
	}
	var body reprocessRequest
	if err := decodeJSON(http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes), &body); err != nil {
		return err
	}
	req := reprocess.Request{DryRun: body.DryRun, Pipeline: body.Pipeline, Status: body.Status}
	switch body.Status {
	case "", "REPROCESS", "ERROR", "SUCCESS":
	default:
		return badRequest("status %q: want REPROCESS, ERROR or SUCCESS", clip(body.Status, 32))
	}
	if len(body.Pipeline) > 64 {
		return badRequest("pipeline %q is too long", clip(body.Pipeline, 32))
	}
	if body.Since != "" {
		t, err := time.Parse(time.RFC3339Nano, body.Since)
		if err != nil {
			return badRequest("since %q: want an RFC 3339 time", clip(body.Since, 40))
		}
		req.Since = t
	}
	if s.deps.Reprocessor == nil {
		return unavailable("reprocessing is not available on this server", nil)
	}
	setAuditTarget(r, body.Pipeline)
	rep, err := s.deps.Reprocessor.Run(context.WithoutCancel(r.Context()), req)
	switch {
	case errors.Is(err, reprocess.ErrBusy):
		return errorf(http.StatusConflict, "%s", err.Error())
	case err != nil:
		return unavailable("reprocessing failed; retry later", err)
	}
	writeJSON(w, http.StatusOK, rep)
	return nil
}
