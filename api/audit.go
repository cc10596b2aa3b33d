package api

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/rationhq/ration"
	"github.com/rationhq/ration/schemas"
)

// Auditor records audit events (producer.Audit writes them to
// ration.audit). Audit returns once the event is durably recorded, or with
// why it is not: the request it describes waits for it (RP-7), within ctx.
type Auditor interface {
	Audit(ctx context.Context, a schemas.Audit) error
}

type auditTargetKey struct{}

// setAuditTarget names the client a management request was about.
func setAuditTarget(r *http.Request, name string) {
	if t, ok := r.Context().Value(auditTargetKey{}).(*string); ok {
		*t = name
	}
}

// auditRecorder holds a handler's answer (status, headers, body) until
// the request's audit record is written: only then may the client hear
// it, and if the record cannot be written it hears 503 instead. Handlers
// answer in one piece (writeJSON), so holding the answer costs no
// streaming.
type auditRecorder struct {
	header http.Header
	status int
	body   bytes.Buffer
	target string
	wrote  bool
}

func newAuditRecorder() *auditRecorder {
	return &auditRecorder{header: http.Header{}, status: http.StatusOK}
}

func (a *auditRecorder) Header() http.Header { return a.header }

func (a *auditRecorder) WriteHeader(code int) {
	if !a.wrote {
		a.status, a.wrote = code, true
	}
}

func (a *auditRecorder) Write(b []byte) (int, error) {
	a.wrote = true
	return a.body.Write(b)
}

// send answers w with what the handler answered.
func (a *auditRecorder) send(w http.ResponseWriter) {
	h := w.Header()
	for k, v := range a.header {
		h[k] = v
	}
	w.WriteHeader(a.status)
	_, _ = w.Write(a.body.Bytes())
}

// errNotAudited is the answer to a request whose audit record could not
// be written.
const errNotAudited = "the request could not be audited (the audit log is unavailable) and may have been carried out; " +
	"retrying is safe for idempotent writes, otherwise check its outcome first"

// audited writes the audit record of the request r that rec holds the
// answer to, and then sends that answer to w; if the record cannot be
// written within BackendTimeout, it answers 503 instead. The write
// outlives the client: a client that went away may have changed
// something, which must be on record.
func (s *Server) audited(w http.ResponseWriter, r *http.Request, route string, client string, rec *auditRecorder) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), s.cfg.BackendTimeout)
	defer cancel()
	err := s.deps.Audit.Audit(ctx, schemas.Audit{Client: client, Method: r.Method, Route: route,
		Target: rec.target, Status: rec.status, Time: time.Now()})
	if err != nil {
		s.fail(w, r, route, Unavailable(errNotAudited, fmt.Errorf("audit of the answer %d: %w", rec.status, err)))
		return
	}
	rec.send(w)
}

// MaxAuditPage caps GET /v1/audit.
const MaxAuditPage = 10_000

// audit is GET /v1/audit?client=C&since=T&limit=N.
func (s *Server) audit(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	aq := ration.AuditQuery{Client: q.Get("client"), Limit: 100}
	if v := q.Get("since"); v != "" {
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			return BadRequest("since %q: want an RFC 3339 time", Clip(v, 40))
		}
		aq.Since = t
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > MaxAuditPage {
			return BadRequest("limit %q: want 1 to %d", Clip(v, 20), MaxAuditPage)
		}
		aq.Limit = n
	}
	if s.deps.AuditReader == nil {
		return Unavailable("the audit log is not readable on this server", nil)
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.BackendTimeout)
	defer cancel()
	entries, err := s.deps.AuditReader.Audit(ctx, aq)
	if err != nil {
		return Unavailable("read store unavailable; retry later", err)
	}
	if entries == nil {
		entries = []ration.AuditEntry{}
	}
	WriteJSON(w, http.StatusOK, map[string]any{"entries": entries})
	return nil
}
