package dm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"golang.org/x/time/rate"

	"github.com/rationhq/ration/processor"
)

// UserIDPlaceholder is replaced by the (path-escaped) user id in an
// HTTPChecker's URL template.
const UserIDPlaceholder = "{user_id}"

// HTTPChecker asks an HTTP service: GET the URL template with the user id
// filled in, answered by JSON {"open_dm": bool}. A refused connection, a
// time-out, a 5xx or a 429 is a transient error; any other 4xx is
// permanent.
type HTTPChecker struct {
	template string
	client   *http.Client
	limiter  *rate.Limiter
}

// NewHTTPChecker returns a checker for template (which must contain
// {user_id}), sending at most perSecond requests per second (0: no limit)
// and giving up on one request after timeout.
func NewHTTPChecker(template string, perSecond float64, timeout time.Duration) (*HTTPChecker, error) {
	if !strings.Contains(template, UserIDPlaceholder) {
		return nil, fmt.Errorf("checker url %q has no %s", template, UserIDPlaceholder)
	}
	u, err := url.Parse(strings.ReplaceAll(template, UserIDPlaceholder, "x"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("checker url %q is not an http(s) URL", template)
	}
	limit := rate.Inf
	burst := 1
	if perSecond > 0 {
		limit = rate.Limit(perSecond)
		burst = max(1, int(perSecond/10))
	}
	return &HTTPChecker{
		template: template,
		client:   processor.HTTPClient(timeout),
		limiter:  rate.NewLimiter(limit, burst),
	}, nil
}

// Check implements Checker.
func (c *HTTPChecker) Check(ctx context.Context, userID string) (bool, error) {
	if err := c.limiter.Wait(ctx); err != nil {
		return false, err
	}
	target := strings.ReplaceAll(c.template, UserIDPlaceholder, url.PathEscape(userID))
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return false, err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := c.client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return false, ctx.Err()
		}
		// The error names the URL, and goes to logs and events: its query
		// and user info may hold the checker's credentials.
		if ue := (*url.Error)(nil); errors.As(err, &ue) {
			if u, perr := url.Parse(ue.URL); perr == nil {
				u.User, u.RawQuery, u.Fragment = nil, "", ""
				ue.URL = u.String()
			}
		}
		// Refused connections, resets and time-outs may pass.
		return false, processor.Transient(fmt.Errorf("checker: %w", err))
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return false, fmt.Errorf("checker: read answer: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		err := fmt.Errorf("checker: %s: %s", resp.Status, strings.TrimSpace(string(body)))
		if resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests {
			return false, processor.Transient(err)
		}
		// Any other answer says the request itself is wrong: asking again
		// will not help.
		return false, processor.Permanent(err)
	}
	var answer struct {
		OpenDM *bool `json:"open_dm"`
	}
	if err := json.Unmarshal(body, &answer); err != nil {
		return false, fmt.Errorf("checker: bad answer: %w", err)
	}
	if answer.OpenDM == nil {
		return false, errors.New(`checker: answer has no "open_dm"`)
	}
	return *answer.OpenDM, nil
}
