package registrar

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/rationhq/ration/processor"
)

// Client registers receipts with one service that speaks the contract
// (see the package doc). Safe for concurrent use.
type Client struct {
	url     string
	http    *http.Client
	timeout time.Duration
}

// Opt configures a Client.
type Opt func(*Client)

// Timeout bounds each call, overriding the default of 5 s. A call that
// runs out of time is transient.
func Timeout(d time.Duration) Opt { return func(c *Client) { c.timeout = d } }

// maxReply is the most of an answer a Client reads.
const maxReply = 64 << 10

// New returns a client of the service at baseURL (such as
// "http://127.0.0.1:8091"), calling it through httpClient
// (processor.HTTPClient when nil).
func New(baseURL string, httpClient *http.Client, opts ...Opt) (*Client, error) {
	u, err := url.Parse(baseURL)
	if err != nil {
		return nil, fmt.Errorf("registrar: base url: %w", err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("registrar: base url %q: want http(s)://host[:port][/path]", baseURL)
	}
	if httpClient == nil {
		httpClient = processor.HTTPClient(0) // each call is bounded by the Client's timeout
	}
	c := &Client{url: strings.TrimSuffix(baseURL, "/") + "/v1/registrations", http: httpClient, timeout: 5 * time.Second}
	for _, o := range opts {
		o(c)
	}
	if c.timeout <= 0 {
		return nil, errors.New("registrar: timeout must be positive")
	}
	return c, nil
}

// Register registers body, marshalled to JSON (a json.RawMessage goes as
// it is: a caller that built it need not have it scanned again), under
// key, and returns its registration number: the number of the first call
// with key, however often it is called. An error is marked with
// processor.Transient (5xx, 429, a time-out, a refused or broken
// connection: call again with the same key) or processor.Permanent (a bad
// key or body, any other 4xx, an answer outside the contract); a
// *StatusError holds the service's status and message.
func (c *Client) Register(ctx context.Context, key string, body any) (string, error) {
	if err := CheckKey(key); err != nil {
		return "", processor.Permanent(err)
	}
	b, ok := body.(json.RawMessage)
	if !ok {
		var err error
		if b, err = json.Marshal(body); err != nil {
			return "", processor.Permanent(fmt.Errorf("registration body: %w", err))
		}
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url, bytes.NewReader(b))
	if err != nil {
		return "", processor.Permanent(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", key)
	resp, err := c.http.Do(req)
	if err != nil {
		return "", processor.Transient(fmt.Errorf("register: %w", err))
	}
	defer resp.Body.Close()
	reply, err := io.ReadAll(io.LimitReader(resp.Body, maxReply))
	if err != nil {
		// The registration may have been made; the same key finds it.
		return "", processor.Transient(fmt.Errorf("register: reading the answer: %w", err))
	}
	return interpret(resp.StatusCode, reply)
}

// interpret reads a service's answer: the number, or the error classified.
func interpret(status int, reply []byte) (string, error) {
	switch {
	case status >= 200 && status < 300:
		var ok struct {
			Number string `json:"registration_number"`
		}
		if err := json.Unmarshal(reply, &ok); err != nil || ok.Number == "" {
			return "", processor.Permanent(fmt.Errorf("register: answer %d without a registration number: %q", status, excerpt(reply)))
		}
		return ok.Number, nil
	case status >= 500 || status == http.StatusTooManyRequests:
		return "", processor.Transient(statusError(status, reply))
	default:
		return "", processor.Permanent(statusError(status, reply))
	}
}

// statusError is an error answer: the message and code of a JSON error,
// or an excerpt of an answer that is none (a proxy's page).
func statusError(status int, reply []byte) *StatusError {
	var e struct {
		Error string `json:"error"`
		Code  string `json:"code"`
	}
	if json.Unmarshal(reply, &e) == nil && e.Error != "" {
		return &StatusError{Status: status, Code: e.Code, Message: e.Error}
	}
	return &StatusError{Status: status, Message: excerpt(reply)}
}

func excerpt(reply []byte) string {
	const most = 200
	s := strings.TrimSpace(string(reply))
	if len(s) > most {
		s = strings.ToValidUTF8(s[:most], "") + "…"
	}
	return s
}
