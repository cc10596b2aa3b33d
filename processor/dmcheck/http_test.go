package dmcheck

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

func TestHTTPCheckerAgainstSimServer(t *testing.T) {
	srv := httptest.NewServer(SimHandler(Simulator{}, slog.New(slog.DiscardHandler)))
	defer srv.Close()
	c, err := NewHTTPChecker(srv.URL+"/check/{user_id}", 0, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"alice", "bob", "u:1.2-3_x"} {
		open, err := c.Check(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if open != Answer(id) {
			t.Fatalf("%s: open=%v, want %v", id, open, Answer(id))
		}
	}
}

func TestHTTPCheckerErrors(t *testing.T) {
	for name, handler := range map[string]http.HandlerFunc{
		"5xx":       func(w http.ResponseWriter, _ *http.Request) { http.Error(w, "down", http.StatusBadGateway) },
		"not json":  func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("yes")) },
		"no answer": func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte(`{"other":true}`)) },
	} {
		t.Run(name, func(t *testing.T) {
			srv := httptest.NewServer(handler)
			defer srv.Close()
			c, err := NewHTTPChecker(srv.URL+"/{user_id}", 0, time.Second)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := c.Check(context.Background(), "u1"); err == nil {
				t.Fatal("no error")
			}
		})
	}
}

func TestSimulatorFailsAtItsRate(t *testing.T) {
	s := Simulator{ErrorRate: 1}
	if _, err := s.Check(context.Background(), "u"); err == nil {
		t.Fatal("error rate 1 did not fail")
	}
}

func TestNewHTTPCheckerRejectsBadTemplates(t *testing.T) {
	for _, tmpl := range []string{"http://host/check", "ftp://host/{user_id}", "/relative/{user_id}"} {
		if _, err := NewHTTPChecker(tmpl, 0, time.Second); err == nil {
			t.Errorf("%q accepted", tmpl)
		}
	}
}
