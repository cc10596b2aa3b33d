package dm

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/rationhq/ration/processor"
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

func TestHTTPCheckerErrorHidesCredentials(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	addr := srv.Listener.Addr().String()
	srv.Close() // nothing listens there now: the check is refused
	c, err := NewHTTPChecker("http://user:pass-secret@"+addr+"/check/{user_id}?key=query-secret", 0, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Check(context.Background(), "u1")
	if !errors.Is(err, processor.ErrTransient) || strings.Contains(err.Error(), "secret") || !strings.Contains(err.Error(), addr+"/check/u1") {
		t.Fatalf("error %v, want a transient one naming %s/check/u1 and no credentials", err, addr)
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

func TestHTTPCheckerClassifiesErrors(t *testing.T) {
	for _, tc := range []struct {
		status    int
		permanent bool
	}{
		{http.StatusInternalServerError, false},
		{http.StatusBadGateway, false},
		{http.StatusTooManyRequests, false},
		{http.StatusBadRequest, true},
		{http.StatusNotFound, true},
		{http.StatusForbidden, true},
	} {
		t.Run(http.StatusText(tc.status), func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				http.Error(w, "no", tc.status)
			}))
			defer srv.Close()
			c, err := NewHTTPChecker(srv.URL+"/{user_id}", 0, time.Second)
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.Check(context.Background(), "u1")
			if got := processor.IsPermanent(err); got != tc.permanent {
				t.Fatalf("%d: permanent=%v (%v), want %v", tc.status, got, err, tc.permanent)
			}
		})
	}
	t.Run("connection refused", func(t *testing.T) {
		srv := httptest.NewServer(http.NotFoundHandler())
		url := srv.URL
		srv.Close()
		c, err := NewHTTPChecker(url+"/{user_id}", 0, time.Second)
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.Check(context.Background(), "u1")
		if err == nil || processor.IsPermanent(err) || !errors.Is(err, processor.ErrTransient) {
			t.Fatalf("refused connection: %v, want a transient error", err)
		}
	})
}

func TestSimServerFaultsFromOutside(t *testing.T) {
	srv := httptest.NewServer(SimHandler(Simulator{}, slog.New(slog.DiscardHandler)))
	defer srv.Close()
	c, err := NewHTTPChecker(srv.URL+"/check/{user_id}", 0, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	put := func(body string) int {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPut, srv.URL+"/admin/faults", strings.NewReader(body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}

	if code := put(`{"down_for_seconds": 60}`); code != http.StatusOK {
		t.Fatalf("PUT faults: %d", code)
	}
	if _, err := c.Check(context.Background(), "u1"); !errors.Is(err, processor.ErrTransient) {
		t.Fatalf("while down: %v, want a transient error", err)
	}
	if code := put(`{"error_rate": 1}`); code != http.StatusOK {
		t.Fatalf("PUT faults: %d", code)
	}
	if _, err := c.Check(context.Background(), "u1"); !errors.Is(err, processor.ErrTransient) {
		t.Fatalf("error rate 1: %v, want a transient error", err)
	}
	if code := put(`{}`); code != http.StatusOK {
		t.Fatalf("PUT faults: %d", code)
	}
	if _, err := c.Check(context.Background(), "u1"); err != nil {
		t.Fatalf("faults cleared: %v", err)
	}
	for _, bad := range []string{`{"error_rate": 2}`, `{"down_for_seconds": -1}`, `{"rate": 1}`, `nope`} {
		if code := put(bad); code != http.StatusBadRequest {
			t.Errorf("PUT %s: %d, want 400", bad, code)
		}
	}
}
