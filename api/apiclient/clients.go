package apiclient

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/rationhq/ration"
)

// NewAPIClient is a registered API client and its key, shown once.
type NewAPIClient struct {
	Name  string `json:"name"`
	Kind  string `json:"kind"`
	Scope string `json:"scope"`
	Key   string `json:"key"`
}

// NewWorker is a registered worker and its Kafka credentials, shown once.
type NewWorker struct {
	Name          string `json:"name"`
	Kind          string `json:"kind"`
	Pipeline      string `json:"pipeline"`
	SASLMechanism string `json:"sasl_mechanism"`
	Username      string `json:"username"`
	Password      string `json:"password"`
}

// ClientInfo is a client as the server lists it: no secret.
type ClientInfo struct {
	Name      string            `json:"name"`
	Kind      string            `json:"kind"`
	Scope     string            `json:"scope,omitempty"`
	Pipeline  string            `json:"pipeline,omitempty"`
	CreatedAt *ration.Timestamp `json:"created_at"`
	Revoked   bool              `json:"revoked"`
}

// AddAPIClient registers an API client with scope (read, write or admin).
func (c *Client) AddAPIClient(ctx context.Context, name, scope string) (NewAPIClient, error) {
	var out NewAPIClient
	err := c.do(ctx, http.MethodPost, "/v1/clients", map[string]string{"name": name, "scope": scope}, &out)
	return out, err
}

// AddWorker registers a worker of pipeline and returns its Kafka
// credentials.
func (c *Client) AddWorker(ctx context.Context, name, pipeline string) (NewWorker, error) {
	var out NewWorker
	err := c.do(ctx, http.MethodPost, "/v1/clients", map[string]string{"name": name, "kind": "worker", "pipeline": pipeline}, &out)
	return out, err
}

// Clients lists every client.
func (c *Client) Clients(ctx context.Context) ([]ClientInfo, error) {
	var out struct {
		Clients []ClientInfo `json:"clients"`
	}
	err := c.do(ctx, http.MethodGet, "/v1/clients", nil, &out)
	return out.Clients, err
}

// RevokeClient revokes name.
func (c *Client) RevokeClient(ctx context.Context, name string) (ClientInfo, error) {
	var out ClientInfo
	err := c.do(ctx, http.MethodDelete, "/v1/clients/"+url.PathEscape(name), nil, &out)
	return out, err
}

// Audit reads the audit log: entries of client ("" for all) at or after
// since (zero for all), newest first, at most limit (0: the server's
// default).
func (c *Client) Audit(ctx context.Context, client string, since time.Time, limit int) ([]ration.AuditEntry, error) {
	q := url.Values{}
	if client != "" {
		q.Set("client", client)
	}
	if !since.IsZero() {
		q.Set("since", since.UTC().Format(time.RFC3339Nano))
	}
	if limit != 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	var out struct {
		Entries []ration.AuditEntry `json:"entries"`
	}
	err := c.do(ctx, http.MethodGet, "/v1/audit?"+q.Encode(), nil, &out)
	return out.Entries, err
}
