package api

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/rationhq/ration"
	"github.com/rationhq/ration/schemas"
)

// Auditor records audit events (producer.Audit writes them to
// ration.audit). Audit must not block the request for long and never
// fails it: the answer is already on its way.
type Auditor interface {
	Audit(ctx context.Context, a schemas.Audit)
}

type auditTargetKey struct{}

// setAuditTarget names the client a management request was about.
func setAuditTarget(r *http.Request, name string) {
	if t, ok := r.Context().Value(auditTargetKey{}).(*string); ok {
		*t = name
	}
}

// auditRecorder remembers the status a handler answered with.
type auditRecorder struct {
	http.ResponseWriter
	status int
	target string
	wrote  bool
}

func (a *auditRecorder) WriteHeader(code int) {
	if !a.wrote {
		a.status, a.wrote = code, true
	}
	a.ResponseWriter.WriteHeader(code)
}

func (a *auditRecorder) Write(b []byte) (int, error) {
	a.wrote = true
	return a.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController (and MaxBytesReader) reach the
// connection.
func (a *auditRecorder) Unwrap() http.ResponseWriter { return a.ResponseWriter }

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
