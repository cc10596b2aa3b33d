package dm

import (
	"fmt"
	"io"
	"net/http"

	"github.com/rationhq/ration"
	"github.com/rationhq/ration/api"
)

// registerRequest is the body of POST /v1/dm/users.
type registerRequest struct {
	UserIDs []string `json:"user_ids"`
}

// markRequest is the body of POST /v1/dm/checks. Priority is a pointer so
// that an absent priority (normal) differs from an empty one (rejected).
type markRequest struct {
	UserIDs  []string `json:"user_ids"`
	Priority *string  `json:"priority"`
}

// decodeRegister reads a registration request and returns its distinct ids.
// body should already be capped (http.MaxBytesReader).
func decodeRegister(contentType string, body io.Reader, maxIDs int) ([]string, *api.Error) {
	if err := api.CheckContentType(contentType); err != nil {
		return nil, err
	}
	var req registerRequest
	if err := api.DecodeJSON(body, &req); err != nil {
		return nil, err
	}
	return checkIDs(req.UserIDs, maxIDs)
}

// decodeMark reads a mark request and returns its distinct ids and priority.
func decodeMark(contentType string, body io.Reader, maxIDs int) ([]string, Priority, *api.Error) {
	if err := api.CheckContentType(contentType); err != nil {
		return nil, "", err
	}
	var req markRequest
	if err := api.DecodeJSON(body, &req); err != nil {
		return nil, "", err
	}
	p := PriorityNormal
	if req.Priority != nil {
		p = Priority(*req.Priority)
		if p != PriorityNormal && p != PriorityHigh {
			return nil, "", api.BadRequest("priority %q: want %q or %q", api.Clip(*req.Priority, 32), PriorityNormal, PriorityHigh)
		}
	}
	ids, err := checkIDs(req.UserIDs, maxIDs)
	return ids, p, err
}

// checkIDs validates every id, then drops repeated ids (keeping the first
// of each), so a request marks or registers each user once. maxIDs counts
// the ids as sent, before duplicates are dropped, so the work a request
// costs is bounded by what the client sent.
func checkIDs(ids []string, maxIDs int) ([]string, *api.Error) {
	switch {
	case len(ids) == 0:
		return nil, api.BadRequest("user_ids: want at least one id")
	case len(ids) > maxIDs:
		return nil, api.Errorf(http.StatusRequestEntityTooLarge, "user_ids: %d ids, at most %d per request; split the list", len(ids), maxIDs)
	}
	bad, first := 0, -1
	for i, id := range ids {
		if !ration.UserIDPattern.MatchString(id) {
			bad++
			if first < 0 {
				first = i
			}
		}
	}
	if bad > 0 {
		msg := fmt.Sprintf("user_ids[%d] %q is not a valid user id (1 to 64 of A-Z a-z 0-9 _ . : -)", first, api.Clip(ids[first], 64))
		if bad > 1 {
			msg += fmt.Sprintf("; %d invalid ids in all", bad)
		}
		return nil, api.BadRequest("%s", msg)
	}
	seen := make(map[string]struct{}, len(ids))
	out := ids[:0]
	for _, id := range ids {
		if _, dup := seen[id]; dup {
			continue
		}
		seen[id] = struct{}{}
		out = append(out, id)
	}
	return out, nil
}
