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
	"github.com/rationhq/ration/reprocess"
)

// DeadLetters lists up to limit dead letters (or parked items) of a
// stage (admin); an empty pipeline or stage is the server's default.
func (c *Client) DeadLetters(ctx context.Context, k ration.DeadLetterKey, limit int) ([]ration.DeadLetter, error) {
	q := url.Values{"parked": {strconv.FormatBool(k.Parked)}}
	if k.Pipeline != "" {
		q.Set("pipeline", k.Pipeline)
	}
	if k.Stage != "" {
		q.Set("stage", k.Stage)
	}
	if limit != 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	var out struct {
		Letters []ration.DeadLetter `json:"letters"`
	}
	err := c.do(ctx, http.MethodGet, "/v1/dead?"+q.Encode(), nil, &out)
	return out.Letters, err
}

// ReplayDeadLetters sends a stage's dead letters (or parked items) back to
// their topics (admin); with dryRun it only says how many there are.
func (c *Client) ReplayDeadLetters(ctx context.Context, k ration.DeadLetterKey, dryRun bool) (ration.DeadLetterOutcome, error) {
	return c.actOnDead(ctx, "/v1/dead/replay", k, dryRun)
}

// PurgeDeadLetters deletes a stage's dead letters (or parked items)
// (admin).
func (c *Client) PurgeDeadLetters(ctx context.Context, k ration.DeadLetterKey, dryRun bool) (ration.DeadLetterOutcome, error) {
	return c.actOnDead(ctx, "/v1/dead/purge", k, dryRun)
}

func (c *Client) actOnDead(ctx context.Context, path string, k ration.DeadLetterKey, dryRun bool) (ration.DeadLetterOutcome, error) {
	var out ration.DeadLetterOutcome
	err := c.do(ctx, http.MethodPost, path, map[string]any{"pipeline": k.Pipeline, "stage": k.Stage, "parked": k.Parked, "dry_run": dryRun}, &out)
	return out, err
}

// Reprocess runs the reprocessor now (admin) and returns its report. A
// run that outlasts one request goes on in the server; Reprocess asks for
// for it (each ask waits on the server a while) until it ends or ctx does.
func (c *Client) Reprocess(ctx context.Context, req ReprocessRequest) (reprocess.Report, error) {
	var raw json.RawMessage
	status, err := c.doStatus(ctx, http.MethodPost, "/v1/reprocess/runs", req, &raw)
	for err == nil && status == http.StatusAccepted {
		var running struct {
			RunID string `json:"run_id"`
		}
		if err := json.Unmarshal(raw, &running); err != nil || running.RunID == "" {
			return reprocess.Report{}, fmt.Errorf("apiclient: a run that goes on, without its id: %s", raw)
		}
		select {
		case <-ctx.Done():
			return reprocess.Report{}, fmt.Errorf("apiclient: waiting for reprocessing run %s, which goes on in the server: %w", running.RunID, ctx.Err())
		case <-time.After(pollPause):
		}
		status, err = c.doStatus(ctx, http.MethodGet, "/v1/reprocess/runs/"+url.PathEscape(running.RunID), nil, &raw)
	}
	if err != nil {
		return reprocess.Report{}, err
	}
	var out reprocess.Report
	if err := json.Unmarshal(raw, &out); err != nil {
		return out, fmt.Errorf("apiclient: reprocessing report: %w", err)
	}
	return out, nil
}

// pollPause spaces the asks about a run that goes on.
const pollPause = 200 * time.Millisecond

// ReprocessRequest narrows a reprocessing run.
type ReprocessRequest struct {
	DryRun   bool   `json:"dry_run"`
	Pipeline string `json:"pipeline,omitempty"`
	Status   string `json:"status,omitempty"`
	Since    string `json:"since,omitempty"` // RFC 3339
}
