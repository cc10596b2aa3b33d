package api

import (
	"context"
	"crypto/rand"
	"errors"
	"net/http"
	"sync"
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
// window says. It answers with the run's report when the run ends within
// BackendTimeout, and otherwise 202 with the run's id, to be asked for at
// GET /v1/reprocess/runs/{id}: a rate-limited run over many items takes
// longer than any request should. The run never depends on the request.
func (s *Server) runReprocess(w http.ResponseWriter, r *http.Request) error {
	if err := CheckContentType(r.Header.Get("Content-Type")); err != nil {
		return err
	}
	var body reprocessRequest
	if err := DecodeJSON(http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes), &body); err != nil {
		return err
	}
	req := reprocess.Request{DryRun: body.DryRun, Pipeline: body.Pipeline, Status: body.Status}
	switch body.Status {
	case "", "REPROCESS", "ERROR", "SUCCESS":
	default:
		return BadRequest("status %q: want REPROCESS, ERROR or SUCCESS", Clip(body.Status, 32))
	}
	if len(body.Pipeline) > 64 {
		return BadRequest("pipeline %q is too long", Clip(body.Pipeline, 32))
	}
	if body.Since != "" {
		t, err := time.Parse(time.RFC3339Nano, body.Since)
		if err != nil {
			return BadRequest("since %q: want an RFC 3339 time", Clip(body.Since, 40))
		}
		req.Since = t
	}
	if s.deps.Reprocessor == nil {
		return Unavailable("reprocessing is not available on this server", nil)
	}
	setAuditTarget(r, body.Pipeline)
	run := s.runs.start(s.deps.Reprocessor, req)
	return s.answerRun(w, r, run)
}

// getReprocessRun is GET /v1/reprocess/runs/{id}: 202 while the run goes
// on, then what POST would have answered had the run been quick.
func (s *Server) getReprocessRun(w http.ResponseWriter, r *http.Request) error {
	run := s.runs.get(r.PathValue("id"))
	if run == nil {
		return Errorf(http.StatusNotFound, "no reprocessing run %q on this server (it keeps the last %d)", Clip(r.PathValue("id"), 40), keptRuns)
	}
	return s.answerRun(w, r, run)
}

// answerRun waits up to BackendTimeout for run and answers with how it
// ended, or 202 with where to ask again.
func (s *Server) answerRun(w http.ResponseWriter, r *http.Request, run *reprocessRun) error {
	wait := time.NewTimer(s.cfg.BackendTimeout)
	defer wait.Stop()
	select {
	case <-run.done:
	case <-wait.C:
		w.Header().Set("Location", "/v1/reprocess/runs/"+run.id)
		WriteJSON(w, http.StatusAccepted, runningRun{RunID: run.id, State: "running"})
		return nil
	case <-r.Context().Done():
		return r.Context().Err()
	}
	switch {
	case errors.Is(run.err, reprocess.ErrBusy):
		return Errorf(http.StatusConflict, "%s", run.err.Error())
	case run.err != nil:
		return Unavailable("reprocessing failed; retry later", run.err)
	}
	WriteJSON(w, http.StatusOK, run.report)
	return nil
}

// runningRun is the answer about a run that has not ended yet.
type runningRun struct {
	RunID string `json:"run_id"`
	State string `json:"state"`
}

// keptRuns is how many runs a server remembers for GET.
const keptRuns = 32

// reprocessRuns are the runs this server started, the last keptRuns.
type reprocessRuns struct {
	mu    sync.Mutex
	byID  map[string]*reprocessRun
	order []string // oldest first
}

// reprocessRun is one run; report and err are set before done closes.
type reprocessRun struct {
	id     string
	done   chan struct{}
	report reprocess.Report
	err    error
}

// start runs req in the background, detached from any request.
func (rs *reprocessRuns) start(rp Reprocessor, req reprocess.Request) *reprocessRun {
	run := &reprocessRun{id: rand.Text()[:16], done: make(chan struct{})}
	rs.mu.Lock()
	if rs.byID == nil {
		rs.byID = make(map[string]*reprocessRun)
	}
	rs.byID[run.id] = run
	rs.order = append(rs.order, run.id)
	if len(rs.order) > keptRuns {
		delete(rs.byID, rs.order[0])
		rs.order = rs.order[1:]
	}
	rs.mu.Unlock()
	go func() {
		defer close(run.done)
		run.report, run.err = rp.Run(context.Background(), req)
	}()
	return run
}

func (rs *reprocessRuns) get(id string) *reprocessRun {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	return rs.byID[id]
}
