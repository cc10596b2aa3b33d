// Package apiclient is a Go client of ration's HTTP API (docs/openapi.yaml),
// used by the `ration dm` and `ration receipts` commands. Every non-2xx answer comes back as an
// *Error carrying the server's status and message.
package apiclient

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/rationhq/ration"
)

// Error is an answer of the server other than success.
type Error struct {
	// Status is the HTTP status code.
	Status int
	// Message is the server's {"error": ...}, or the status text when the
	// answer was not ration's JSON (a proxy in between, say).
	Message string
	// Reasons are the server's "reasons", for a body with several things
	// wrong (an invalid receipt).
	Reasons []ration.Reason
}

func (e *Error) Error() string {
	return fmt.Sprintf("%s (HTTP %d)", e.Message, e.Status)
}

// Client calls one ration API server. It is safe for concurrent use.
type Client struct {
	base string
	key  string
	hc   *http.Client
}

// New returns a client of the server at baseURL (http://127.0.0.1:8080).
// A nil hc uses a client with a 60 s timeout, matching the server's write
// timeout.
func New(baseURL string, hc *http.Client) *Client {
	if hc == nil {
		hc = &http.Client{Timeout: 60 * time.Second}
	}
	return &Client{base: strings.TrimRight(baseURL, "/"), hc: hc}
}

// WithKey returns a copy of c that sends key as its bearer API key.
func (c *Client) WithKey(key string) *Client {
	cp := *c
	cp.key = key
	return &cp
}

type idsBody struct {
	UserIDs  []string `json:"user_ids"`
	Priority string   `json:"priority,omitempty"`
}

type acceptedBody struct {
	Accepted int `json:"accepted"`
}

// RegisterUsers registers ids and returns how many distinct ids the server
// accepted.
func (c *Client) RegisterUsers(ctx context.Context, ids []string) (int, error) {
	var out acceptedBody
	err := c.do(ctx, http.MethodPost, "/v1/dm/users", idsBody{UserIDs: ids}, &out)
	return out.Accepted, err
}

// Mark asks for ids to be checked at priority ("normal", "high", or "" for
// the server's default, normal) and returns how many distinct ids the
// server accepted.
func (c *Client) Mark(ctx context.Context, ids []string, priority string) (int, error) {
	var out acceptedBody
	err := c.do(ctx, http.MethodPost, "/v1/dm/checks", idsBody{UserIDs: ids, Priority: priority}, &out)
	return out.Accepted, err
}

// User returns one user's state.
func (c *Client) User(ctx context.Context, id string) (ration.DMUser, error) {
	var u ration.DMUser
	err := c.do(ctx, http.MethodGet, "/v1/dm/users/"+url.PathEscape(id), nil, &u)
	return u, err
}

// History returns every status event of one user's checks since since
// (an RFC 3339 time or a date, as the API takes it), oldest first; ""
// asks for those of the user's latest mark.
func (c *Client) History(ctx context.Context, id, since string) ([]ration.ItemEvent, error) {
	var body struct {
		Events []ration.ItemEvent `json:"events"`
	}
	path := "/v1/dm/users/" + url.PathEscape(id) + "/history"
	if since != "" {
		path += "?" + url.Values{"since": {since}}.Encode()
	}
	err := c.do(ctx, http.MethodGet, path, nil, &body)
	return body.Events, err
}

// Users returns a page of users in state after cursor ("" for the first
// page). limit 0 leaves the page size to the server.
func (c *Client) Users(ctx context.Context, state ration.DMState, cursor string, limit int) (ration.DMPage, error) {
	q := url.Values{"state": {string(state)}}
	if cursor != "" {
		q.Set("cursor", cursor)
	}
	if limit != 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	var p ration.DMPage
	err := c.do(ctx, http.MethodGet, "/v1/dm/users?"+q.Encode(), nil, &p)
	return p, err
}

// Stats returns the counts of users by state.
func (c *Client) Stats(ctx context.Context) (ration.DMStats, error) {
	var s ration.DMStats
	err := c.do(ctx, http.MethodGet, "/v1/dm/stats", nil, &s)
	return s, err
}

// do sends in (if not nil) as JSON and decodes a 2xx answer into out.
func (c *Client) do(ctx context.Context, method, path string, in, out any) error {
	_, err := c.doStatus(ctx, method, path, in, out)
	return err
}

// doStatus is do, also returning a 2xx answer's status.
func (c *Client) doStatus(ctx context.Context, method, path string, in, out any) (int, error) {
	var body []byte
	contentType := ""
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return 0, fmt.Errorf("apiclient: encode request: %w", err)
		}
		body, contentType = b, "application/json"
	}
	status, b, _, err := c.raw(ctx, method, path, contentType, body)
	if err != nil {
		return status, err
	}
	if err := json.Unmarshal(b, out); err != nil {
		return status, fmt.Errorf("apiclient: %s %s: decode answer: %w", method, path, err)
	}
	return status, nil
}

func answerError(status int, body []byte) *Error {
	var e struct {
		Error   string          `json:"error"`
		Reasons []ration.Reason `json:"reasons"`
	}
	if json.Unmarshal(body, &e) == nil && e.Error != "" {
		return &Error{Status: status, Message: e.Error, Reasons: e.Reasons}
	}
	return &Error{Status: status, Message: http.StatusText(status)}
}

// raw sends body as it is and returns a 2xx answer's status, body and
// content type.
func (c *Client) raw(ctx context.Context, method, path, contentType string, body []byte) (int, []byte, string, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return 0, nil, "", fmt.Errorf("apiclient: %w", err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	req.Header.Set("Accept", "application/json")
	if c.key != "" {
		req.Header.Set("Authorization", "Bearer "+c.key)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return 0, nil, "", fmt.Errorf("apiclient: %s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	// Answers are small, except a page of 10 000 (a few MB); the cap
	// keeps a misbehaving server from filling memory.
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return 0, nil, "", fmt.Errorf("apiclient: %s %s: read answer: %w", method, path, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return resp.StatusCode, nil, "", answerError(resp.StatusCode, b)
	}
	return resp.StatusCode, b, resp.Header.Get("Content-Type"), nil
}
