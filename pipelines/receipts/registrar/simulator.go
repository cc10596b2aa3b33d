package registrar

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"mime"
	"net/http"
	"sync/atomic"
	"time"
)

// Simulator is a registrar service in memory: it serves the contract (see
// the package doc) for its Service and fails as its Faults say.
type Simulator struct {
	svc      Service
	faults   Faults
	store    store
	requests atomic.Int64
	log      *slog.Logger
	mux      *http.ServeMux
}

// Stats count what a simulator did.
type Stats struct {
	// Requests counts every registration call received.
	Requests int64 `json:"requests"`
	// Registrations counts the distinct keys registered.
	Registrations int64 `json:"registrations"`
}

// NewSimulator returns a simulator of svc without faults. log gets a line
// per fault change, and per failed call at debug level; nil is silent.
func NewSimulator(svc Service, log *slog.Logger) (*Simulator, error) {
	if err := svc.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Simulator{svc: svc, log: log.With("service", svc.Name), mux: http.NewServeMux()}
	s.mux.HandleFunc("POST /v1/registrations", s.register)
	s.mux.HandleFunc("GET /admin/faults", s.getFaults)
	s.mux.HandleFunc("PUT /admin/faults", s.putFaults)
	s.mux.HandleFunc("GET /admin/stats", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, s.Stats())
	})
	s.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	return s, nil
}

// ServeHTTP serves the contract and the admin endpoints.
func (s *Simulator) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// Faults are the simulator's faults, to change while it runs.
func (s *Simulator) Faults() *Faults { return &s.faults }

// Stats returns what the simulator did so far.
func (s *Simulator) Stats() Stats {
	return Stats{Requests: s.requests.Load(), Registrations: int64(s.store.len())}
}

func (s *Simulator) register(w http.ResponseWriter, r *http.Request) {
	s.requests.Add(1)
	st := s.faults.State()
	// Reading the body to its end first lets the server notice a caller
	// that hangs up during the latency, and end r's context.
	body, bodyErr := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	if err := sleep(r.Context(), st.Latency); err != nil {
		return // the caller gave up; nobody reads an answer
	}
	// The faults that come before anything happens.
	switch {
	case st.down(time.Now()):
		s.fail(w, http.StatusServiceUnavailable, CodeUnavailable, "simulated outage until "+st.DownUntil.Format(time.RFC3339))
		return
	case st.ErrorRate > 0 && rand.Float64() < st.ErrorRate:
		s.fail(w, http.StatusServiceUnavailable, CodeUnavailable, "simulated failure")
		return
	}
	key, reg, status, err := readRequest(r.Header, body, bodyErr)
	if err != nil {
		s.fail(w, status, CodeBadRequest, err.Error())
		return
	}
	out := s.store.register(key, reg.digest, s.svc.refuses(key, st.RefuseRate))
	switch out {
	case conflict:
		s.fail(w, http.StatusUnprocessableEntity, CodeKeyReused, "idempotency key reused with a different body")
		return
	case refused:
		s.fail(w, http.StatusUnprocessableEntity, CodeRefused, fmt.Sprintf("refused: receipt %q is refused by the simulated %s service", reg.receiptID, s.svc.Name))
		return
	}
	if st.LostReplyRate > 0 && rand.Float64() < st.LostReplyRate {
		s.fail(w, http.StatusServiceUnavailable, CodeUnavailable, "simulated lost reply (the registration was made)")
		return
	}
	status = http.StatusOK
	if out == registered {
		status = http.StatusCreated
	}
	writeJSON(w, status, map[string]string{"registration_number": s.svc.Number(key)})
}

// readRequest reads the key and the body of a registration call, or says
// with which status to refuse it. bodyErr is the error reading the body.
func readRequest(h http.Header, body []byte, bodyErr error) (string, registration, int, error) {
	keys := h.Values("Idempotency-Key")
	if len(keys) != 1 {
		return "", registration{}, http.StatusBadRequest, fmt.Errorf("want one Idempotency-Key header, got %d", len(keys))
	}
	if err := CheckKey(keys[0]); err != nil {
		return "", registration{}, http.StatusBadRequest, err
	}
	if mt, _, err := mime.ParseMediaType(h.Get("Content-Type")); err != nil || mt != "application/json" {
		return "", registration{}, http.StatusBadRequest, fmt.Errorf("content type %q, want application/json", h.Get("Content-Type"))
	}
	if tooBig := new(http.MaxBytesError); errors.As(bodyErr, &tooBig) {
		return "", registration{}, http.StatusRequestEntityTooLarge, fmt.Errorf("body over %d bytes", MaxBodyBytes)
	}
	if bodyErr != nil {
		return "", registration{}, http.StatusBadRequest, fmt.Errorf("body: %w", bodyErr)
	}
	reg, err := decodeRegistration(body)
	if err != nil {
		return "", registration{}, http.StatusBadRequest, err
	}
	return keys[0], reg, 0, nil
}

func (s *Simulator) fail(w http.ResponseWriter, status int, code, msg string) {
	s.log.Debug("registration failed", "status", status, "code", code, "err", msg)
	writeJSON(w, status, map[string]string{"error": msg, "code": code})
}

// sleep waits d, or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
