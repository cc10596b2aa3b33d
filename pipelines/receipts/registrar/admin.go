package registrar

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"
)

// faultsDoc is FaultState as GET and PUT /admin/faults answer it.
type faultsDoc struct {
	ErrorRate     float64   `json:"error_rate"`
	LostReplyRate float64   `json:"lost_reply_rate"`
	RefuseRate    float64   `json:"refuse_rate"`
	LatencyMS     float64   `json:"latency_ms"`
	DownUntil     time.Time `json:"down_until,omitzero"`
}

// faultsPut is the body of PUT /admin/faults: any of its fields.
type faultsPut struct {
	ErrorRate      *float64 `json:"error_rate"`
	LostReplyRate  *float64 `json:"lost_reply_rate"`
	RefuseRate     *float64 `json:"refuse_rate"`
	DownForSeconds *float64 `json:"down_for_seconds"`
	LatencyMS      *float64 `json:"latency_ms"`
}

func (s *Simulator) getFaults(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, docOf(s.faults.State()))
}

func (s *Simulator) putFaults(w http.ResponseWriter, r *http.Request) {
	var req faultsPut
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4096))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "bad faults: " + err.Error()})
		return
	}
	c := FaultChange{ErrorRate: req.ErrorRate, LostReplyRate: req.LostReplyRate, RefuseRate: req.RefuseRate}
	var err error
	if c.DownFor, err = duration(req.DownForSeconds, time.Second, "down_for_seconds"); err == nil {
		c.Latency, err = duration(req.LatencyMS, time.Millisecond, "latency_ms")
	}
	if err == nil {
		err = s.faults.Change(c)
	}
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
		return
	}
	doc := docOf(s.faults.State())
	s.log.Info("simulator faults set", "error_rate", doc.ErrorRate, "lost_reply_rate", doc.LostReplyRate,
		"refuse_rate", doc.RefuseRate, "latency_ms", doc.LatencyMS, "down_until", doc.DownUntil)
	writeJSON(w, http.StatusOK, doc)
}

func docOf(st FaultState) faultsDoc {
	return faultsDoc{
		ErrorRate: st.ErrorRate, LostReplyRate: st.LostReplyRate, RefuseRate: st.RefuseRate,
		LatencyMS: float64(st.Latency) / float64(time.Millisecond), DownUntil: st.DownUntil,
	}
}

// duration converts n units, when given, refusing what a Duration cannot
// hold.
func duration(n *float64, unit time.Duration, name string) (*time.Duration, error) {
	if n == nil {
		return nil, nil
	}
	// Written so that NaN fails too; 1<<63 is one past the largest Duration.
	if ns := *n * float64(unit); !(ns >= 0 && ns < 1<<63) {
		return nil, fmt.Errorf("%s must be a number from 0 to %d", name, int64(1<<63-1)/int64(unit))
	}
	d := time.Duration(*n * float64(unit))
	return &d, nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
