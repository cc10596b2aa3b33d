package api

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"
)

// errorBody is the JSON of every error answer.
type errorBody struct {
	Error   string   `json:"error"`
	Reasons []Reason `json:"reasons,omitempty"`
}

// WriteJSON answers with v as JSON. It encodes before writing the header,
// so an encoding failure is still a clean 500.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	var buf bytes.Buffer
	if err := json.NewEncoder(&buf).Encode(v); err != nil {
		status = http.StatusInternalServerError
		buf.Reset()
		buf.WriteString(`{"error":"internal error: encode response"}` + "\n")
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(buf.Len()))
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}
