package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/rationhq/ration"
	"github.com/rationhq/ration/schemas"
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
func decodeRegister(contentType string, body io.Reader, maxIDs int) ([]string, *httpError) {
	if err := checkContentType(contentType); err != nil {
		return nil, err
	}
	var req registerRequest
	if err := decodeJSON(body, &req); err != nil {
		return nil, err
	}
	return checkIDs(req.UserIDs, maxIDs)
}

// decodeMark reads a mark request and returns its distinct ids and priority.
func decodeMark(contentType string, body io.Reader, maxIDs int) ([]string, schemas.Priority, *httpError) {
	if err := checkContentType(contentType); err != nil {
		return nil, "", err
	}
	var req markRequest
	if err := decodeJSON(body, &req); err != nil {
		return nil, "", err
	}
	p := schemas.PriorityNormal
	if req.Priority != nil {
		p = schemas.Priority(*req.Priority)
		if p != schemas.PriorityNormal && p != schemas.PriorityHigh {
			return nil, "", badRequest("priority %q: want %q or %q", clip(*req.Priority, 32), schemas.PriorityNormal, schemas.PriorityHigh)
		}
	}
	ids, err := checkIDs(req.UserIDs, maxIDs)
	return ids, p, err
}

// checkContentType accepts JSON, with or without parameters, and a missing
// header, which curl users and simple scripts leave out.
func checkContentType(ct string) *httpError {
	if ct == "" {
		return nil
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil || mt != "application/json" {
		return errorf(http.StatusUnsupportedMediaType, "content type %q: want application/json", clip(ct, 64))
	}
	return nil
}

// decodeJSON decodes exactly one JSON object into v: unknown fields and
// anything after the object are errors, so a typo never passes silently.
func decodeJSON(body io.Reader, v any) *httpError {
	dec := json.NewDecoder(body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(err)
	}
	switch _, err := dec.Token(); {
	case errors.Is(err, io.EOF):
		return nil
	case err == nil:
		return badRequest("trailing data after the JSON object")
	default:
		if he := jsonError(err); he.status != http.StatusBadRequest {
			return he
		}
		return badRequest("trailing data after the JSON object")
	}
}

// jsonError turns a decoding error into the answer the client gets.
func jsonError(err error) *httpError {
	var (
		tooBig *http.MaxBytesError
		syntax *json.SyntaxError
		typ    *json.UnmarshalTypeError
	)
	switch {
	case errors.As(err, &tooBig):
		return errorf(http.StatusRequestEntityTooLarge, "request body larger than %d bytes", tooBig.Limit)
	case errors.Is(err, io.EOF):
		return badRequest("empty body: want a JSON object with user_ids")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return badRequest("malformed JSON: unexpected end of body")
	case errors.As(err, &syntax):
		return badRequest("malformed JSON at byte %d: %s", syntax.Offset, strings.TrimPrefix(syntax.Error(), "json: "))
	case errors.As(err, &typ):
		if typ.Field == "" {
			return badRequest("body is a JSON %s: want an object with user_ids", typ.Value)
		}
		return badRequest("field %s: got a JSON %s, want %s", typ.Field, typ.Value, jsonKind(typ.Type.String()))
	default:
		return badRequest("%s", clip(strings.TrimPrefix(err.Error(), "json: "), 200))
	}
}

func jsonKind(goType string) string {
	switch goType {
	case "[]string":
		return "an array of strings"
	case "string", "*string":
		return "a string"
	}
	return goType
}

// checkIDs validates every id, then drops repeated ids (keeping the first
// of each), so a request marks or registers each user once. maxIDs counts
// the ids as sent, before duplicates are dropped, so the work a request
// costs is bounded by what the client sent.
func checkIDs(ids []string, maxIDs int) ([]string, *httpError) {
	switch {
	case len(ids) == 0:
		return nil, badRequest("user_ids: want at least one id")
	case len(ids) > maxIDs:
		return nil, errorf(http.StatusRequestEntityTooLarge, "user_ids: %d ids, at most %d per request; split the list", len(ids), maxIDs)
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
		msg := fmt.Sprintf("user_ids[%d] %q is not a valid user id (1 to 64 of A-Z a-z 0-9 _ . : -)", first, clip(ids[first], 64))
		if bad > 1 {
			msg += fmt.Sprintf("; %d invalid ids in all", bad)
		}
		return nil, badRequest("%s", msg)
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
