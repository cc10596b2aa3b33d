package broker

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sr"
	"github.com/twmb/franz-go/pkg/sr/srfake"
)

// journalTimeout bounds one journal write. The broker is in process, so a
// write that takes this long means it is closing.
const journalTimeout = 10 * time.Second

// registry serves srfake's API and journals registrations before
// answering them.
type registry struct {
	fake    *srfake.Registry
	journal *kgo.Client
	log     *slog.Logger
	mux     *http.ServeMux

	// mu makes a registration and its journal write one step: a
	// registration holds it exclusively, every other request shared, so
	// no reader is told an id before it is durable and the journal holds
	// registrations in the order srfake made them (replay relies on it).
	mu        sync.RWMutex
	journaled map[subjectVersion]int
	// pending are registrations srfake made whose journal write failed;
	// they are written, in order, before any later registration.
	pending []sr.SubjectSchema
}

func newRegistry(fake *srfake.Registry, journal *kgo.Client, journaled map[subjectVersion]int, log *slog.Logger) *registry {
	r := &registry{fake: fake, journal: journal, log: log, journaled: journaled, mux: http.NewServeMux()}
	r.mux.HandleFunc("POST /subjects/{subject}/versions", r.register)
	r.mux.HandleFunc("POST /contexts/{context}/subjects/{subject}/versions", r.register)
	r.mux.HandleFunc("DELETE /subjects/{subject}", r.refuseDelete)
	r.mux.HandleFunc("DELETE /subjects/{subject}/versions/{version}", r.refuseDelete)
	r.mux.HandleFunc("DELETE /contexts/{context}/subjects/", r.refuseDelete)
	r.mux.HandleFunc("/", r.read)
	return r
}

func (r *registry) ServeHTTP(w http.ResponseWriter, req *http.Request) { r.mux.ServeHTTP(w, req) }

// read serves every request that changes no schema. The answer is
// buffered so that a slow client does not hold the lock.
func (r *registry) read(w http.ResponseWriter, req *http.Request) {
	var buf bufferedResponse
	r.mu.RLock()
	r.fake.Handler().ServeHTTP(&buf, req)
	r.mu.RUnlock()
	buf.copyTo(w)
}

// register emulates POST /subjects/{subject}/versions and answers only
// once the registration is journaled.
func (r *registry) register(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, req.Body, 1<<20))
	if err != nil {
		writeError(w, http.StatusRequestEntityTooLarge, sr.ErrInvalidSchema.Code, fmt.Sprintf("read body: %v", err))
		return
	}
	subject := req.PathValue("subject")

	r.mu.Lock()
	defer r.mu.Unlock()
	ss, err := r.registerLocked(subject, body)
	if err != nil {
		// srfake renders its own errors (HTTP status, Confluent error
		// code). Under the lock nothing has changed since, so the same
		// request fails the same way.
		req.Body = io.NopCloser(bytes.NewReader(body))
		var buf bufferedResponse
		r.fake.Handler().ServeHTTP(&buf, req)
		if buf.status == http.StatusOK {
			// Cannot happen (see above); never answer an id that is
			// not journaled.
			r.log.Error("schema registry: registration failed, then succeeded", "subject", subject, "err", err)
			writeError(w, http.StatusInternalServerError, sr.ErrStoreError.Code, "registration is not journaled; retry")
			return
		}
		buf.copyTo(w)
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(req.Context()), journalTimeout)
	defer cancel()
	if err := r.journalLocked(ctx, ss); err != nil {
		r.log.Error("schema registry: journal write failed", "subject", ss.Subject, "version", ss.Version, "id", ss.ID, "err", err)
		writeError(w, http.StatusInternalServerError, sr.ErrStoreError.Code, fmt.Sprintf("store schema: %v; retry", err))
		return
	}
	respondJSON(w, http.StatusOK, map[string]int{"id": ss.ID})
}

// registerLocked decodes the body as srfake does and registers it.
func (r *registry) registerLocked(subject string, body []byte) (sr.SubjectSchema, error) {
	var sch sr.Schema
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&sch); err != nil {
		return sr.SubjectSchema{}, err
	}
	if err := dec.Decode(&json.RawMessage{}); !errors.Is(err, io.EOF) {
		return sr.SubjectSchema{}, errors.New("trailing data after the schema")
	}
	id, version, err := r.fake.RegisterSchema(subject, sch)
	if err != nil {
		return sr.SubjectSchema{}, err
	}
	return sr.SubjectSchema{Subject: subject, Version: version, ID: id, Schema: sch}, nil
}

// journalLocked makes ss durable, after every earlier registration whose
// journal write failed.
func (r *registry) journalLocked(ctx context.Context, ss sr.SubjectSchema) error {
	sv := subjectVersion{ss.Subject, ss.Version}
	_, done := r.journaled[sv]
	queued := slices.ContainsFunc(r.pending, func(p sr.SubjectSchema) bool {
		return p.Subject == ss.Subject && p.Version == ss.Version
	})
	if !done && !queued {
		r.pending = append(r.pending, ss)
	}
	for len(r.pending) > 0 {
		p := r.pending[0]
		rec, err := journalRecord(p)
		if err != nil {
			return err
		}
		if err := r.journal.ProduceSync(ctx, rec).FirstErr(); err != nil {
			return err
		}
		r.journaled[subjectVersion{p.Subject, p.Version}] = p.ID
		r.pending = r.pending[1:]
	}
	return nil
}

// refuseDelete answers deletes of subjects and versions: the journal could
// not replay them faithfully, and ids must keep their meaning.
func (*registry) refuseDelete(w http.ResponseWriter, _ *http.Request) {
	writeError(w, http.StatusMethodNotAllowed, http.StatusMethodNotAllowed,
		"ration's embedded schema registry keeps every schema so that ids survive restarts; deletes are not supported")
}

func respondJSON(w http.ResponseWriter, status int, body any) {
	w.Header().Set("Content-Type", "application/vnd.schemaregistry.v1+json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}

// writeError answers in the Confluent error format clients parse.
func writeError(w http.ResponseWriter, status, code int, msg string) {
	respondJSON(w, status, map[string]any{"error_code": code, "message": msg})
}

// bufferedResponse holds an answer in memory until it is copied out.
type bufferedResponse struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (b *bufferedResponse) Header() http.Header {
	if b.header == nil {
		b.header = make(http.Header)
	}
	return b.header
}

func (b *bufferedResponse) WriteHeader(status int) {
	if b.status == 0 {
		b.status = status
	}
}

func (b *bufferedResponse) Write(p []byte) (int, error) {
	b.WriteHeader(http.StatusOK)
	return b.body.Write(p)
}

func (b *bufferedResponse) copyTo(w http.ResponseWriter) {
	for k, v := range b.header {
		w.Header()[k] = v
	}
	w.WriteHeader(cmp.Or(b.status, http.StatusOK))
	_, _ = w.Write(b.body.Bytes())
}
