package api

import (
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"strings"
)

// CheckContentType accepts JSON, with or without parameters, and a missing
// header, which curl users and simple scripts leave out.
func CheckContentType(ct string) *Error {
	if ct == "" {
		return nil
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil || mt != "application/json" {
		return Errorf(http.StatusUnsupportedMediaType, "content type %q: want application/json", Clip(ct, 64))
	}
	return nil
}

// DecodeJSON decodes exactly one JSON object into v: unknown fields and
// anything after the object are errors, so a typo never passes silently.
func DecodeJSON(body io.Reader, v any) *Error {
	dec := json.NewDecoder(body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(err)
	}
	switch _, err := dec.Token(); {
	case errors.Is(err, io.EOF):
		return nil
	case err == nil:
		return BadRequest("trailing data after the JSON object")
	default:
		if he := jsonError(err); he.status != http.StatusBadRequest {
			return he
		}
		return BadRequest("trailing data after the JSON object")
	}
}

// jsonError turns a decoding error into the answer the client gets.
func jsonError(err error) *Error {
	var (
		tooBig *http.MaxBytesError
		syntax *json.SyntaxError
		typ    *json.UnmarshalTypeError
	)
	switch {
	case errors.As(err, &tooBig):
		return Errorf(http.StatusRequestEntityTooLarge, "request body larger than %d bytes", tooBig.Limit)
	case errors.Is(err, io.EOF):
		return BadRequest("empty body: want a JSON object")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return BadRequest("malformed JSON: unexpected end of body")
	case errors.As(err, &syntax):
		return BadRequest("malformed JSON at byte %d: %s", syntax.Offset, strings.TrimPrefix(syntax.Error(), "json: "))
	case errors.As(err, &typ):
		if typ.Field == "" {
			return BadRequest("body is a JSON %s: want an object", typ.Value)
		}
		return BadRequest("field %s: got a JSON %s, want %s", typ.Field, typ.Value, jsonKind(typ.Type.String()))
	default:
		return BadRequest("%s", Clip(strings.TrimPrefix(err.Error(), "json: "), 200))
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
