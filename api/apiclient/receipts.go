package apiclient

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/rationhq/ration"
)

// Submitted is the answer to a submitted receipt: its id and status, and
// whether it was new (202) or sent before (200).
type Submitted struct {
	ID     string               `json:"id"`
	Status ration.ReceiptStatus `json:"status"`
	New    bool                 `json:"-"`
}

// SubmitReceipt sends a receipt in contentType (application/json or
// application/xml).
func (c *Client) SubmitReceipt(ctx context.Context, contentType string, doc []byte) (Submitted, error) {
	var out Submitted
	status, body, _, err := c.raw(ctx, http.MethodPost, "/v1/receipts", contentType, doc)
	if err != nil {
		return out, err
	}
	if err := json.Unmarshal(body, &out); err != nil {
		return out, fmt.Errorf("apiclient: submit: decode answer: %w", err)
	}
	out.New = status == http.StatusAccepted
	return out, nil
}

// Receipt returns a receipt's status and history.
func (c *Client) Receipt(ctx context.Context, id string) (ration.Receipt, error) {
	var v ration.Receipt
	err := c.do(ctx, http.MethodGet, "/v1/receipts/"+url.PathEscape(id), nil, &v)
	return v, err
}

// ReceiptDocument returns a receipt as it was sent, and its content type.
func (c *Client) ReceiptDocument(ctx context.Context, id string) (string, []byte, error) {
	_, body, ct, err := c.raw(ctx, http.MethodGet, "/v1/receipts/"+url.PathEscape(id)+"/document", "", nil)
	return ct, body, err
}

// ReceiptFilter selects a page of receipts; zero fields are the server's
// defaults (the last 30 days, any status and type, 1000 receipts).
type ReceiptFilter struct {
	From, To time.Time
	Status   ration.ReceiptStatus
	Type     string
	Client   string // admins: one client's
	Limit    int
	Cursor   string
}

// Receipts returns a page of receipts.
func (c *Client) Receipts(ctx context.Context, f ReceiptFilter) (ration.ReceiptPage, error) {
	q := url.Values{}
	for k, v := range map[string]string{"status": string(f.Status), "type": f.Type, "client": f.Client, "cursor": f.Cursor} {
		if v != "" {
			q.Set(k, v)
		}
	}
	if !f.From.IsZero() {
		q.Set("from", f.From.UTC().Format(time.RFC3339))
	}
	if !f.To.IsZero() {
		q.Set("to", f.To.UTC().Format(time.RFC3339))
	}
	if f.Limit > 0 {
		q.Set("limit", strconv.Itoa(f.Limit))
	}
	var p ration.ReceiptPage
	err := c.do(ctx, http.MethodGet, "/v1/receipts?"+q.Encode(), nil, &p)
	return p, err
}

// ReceiptType is a receipt type as the API shows it.
type ReceiptType struct {
	Name        string            `json:"name"`
	Description string            `json:"description"`
	Schema      json.RawMessage   `json:"schema,omitempty"`
	Rules       map[string]string `json:"rules,omitempty"`
	UpdatedAt   time.Time         `json:"updated_at"`
	UpdatedBy   string            `json:"updated_by"`
}

// ReceiptTypes lists the types in force.
func (c *Client) ReceiptTypes(ctx context.Context) ([]ReceiptType, error) {
	var out struct {
		Types []ReceiptType `json:"types"`
	}
	err := c.do(ctx, http.MethodGet, "/v1/receipt-types", nil, &out)
	return out.Types, err
}

// GetReceiptType returns one type, whole.
func (c *Client) GetReceiptType(ctx context.Context, name string) (ReceiptType, error) {
	var t ReceiptType
	err := c.do(ctx, http.MethodGet, "/v1/receipt-types/"+url.PathEscape(name), nil, &t)
	return t, err
}

// PutReceiptType puts the type document doc under name.
func (c *Client) PutReceiptType(ctx context.Context, name string, doc []byte) (ReceiptType, error) {
	var t ReceiptType
	_, body, _, err := c.raw(ctx, http.MethodPut, "/v1/receipt-types/"+url.PathEscape(name), "application/json", doc)
	if err != nil {
		return t, err
	}
	if err := json.Unmarshal(body, &t); err != nil {
		return t, fmt.Errorf("apiclient: put type: decode answer: %w", err)
	}
	return t, nil
}

// DeleteReceiptType deletes a type.
func (c *Client) DeleteReceiptType(ctx context.Context, name string) error {
	_, _, _, err := c.raw(ctx, http.MethodDelete, "/v1/receipt-types/"+url.PathEscape(name), "", nil)
	return err
}
