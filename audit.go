package ration

import (
	"context"
	"time"
)

// AuditEntry is one authenticated write request or client-management
// action as GET /v1/audit shows it. It never holds a key or a password.
type AuditEntry struct {
	Client string    `json:"client"`
	Method string    `json:"method"`
	Route  string    `json:"route"`
	Target string    `json:"target,omitempty"`
	Status int       `json:"status"`
	Time   Timestamp `json:"time"`
}

// AuditQuery selects audit entries: of Client ("" for all), at or after
// Since (zero for all), newest first, at most Limit.
type AuditQuery struct {
	Client string
	Since  time.Time
	Limit  int
}

// AuditReader answers GET /v1/audit.
type AuditReader interface {
	Audit(ctx context.Context, q AuditQuery) ([]AuditEntry, error)
}
