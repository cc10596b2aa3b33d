package devstack

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rationhq/ration"
	"github.com/rationhq/ration/api/apiclient"
)

const receiptSamples = "../../docs/receipts"

// service returns the URL of a simulated service of the stack.
func (s *stack) service(t *testing.T, name string) string {
	t.Helper()
	for _, sv := range s.addrs.Services {
		if n, url, ok := strings.Cut(sv, "="); ok && n == name {
			return url
		}
	}
	t.Fatalf("no service %s among %v", name, s.addrs.Services)
	return ""
}

type simStats struct{ Requests, Registrations int }

func (s *stack) simStats(t *testing.T, name string) simStats {
	t.Helper()
	resp, err := http.Get(s.service(t, name) + "/admin/stats")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var st simStats
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		t.Fatal(err)
	}
	return st
}

func (s *stack) setFaults(t *testing.T, name, faults string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPut, s.service(t, name)+"/admin/faults", strings.NewReader(faults))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("faults %s: %d", faults, resp.StatusCode)
	}
}

// putSampleTypes puts the four sample receipt types.
func (s *stack) putSampleTypes(t *testing.T) []string {
	t.Helper()
	names := []string{"retail", "fuel", "pharmacy", "restaurant"}
	for _, n := range names {
		doc, err := os.ReadFile(filepath.Join(receiptSamples, "types", n+".json"))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.api.PutReceiptType(context.Background(), n, doc); err != nil {
			t.Fatalf("put %s: %v", n, err)
		}
	}
	return names
}

// submitSamples submits every sample receipt in both formats and returns
// their ids.
func (s *stack) submitSamples(t *testing.T, names []string) []string {
	t.Helper()
	var ids []string
	for _, n := range names {
		for ext, ct := range map[string]string{".json": "application/json", ".xml": "application/xml"} {
			doc, err := os.ReadFile(filepath.Join(receiptSamples, "samples", n+ext))
			if err != nil {
				t.Fatal(err)
			}
			got, err := s.api.SubmitReceipt(context.Background(), ct, doc)
			if err != nil || !got.New || got.Status != ration.ReceiptReceived {
				t.Fatalf("submit %s%s: %+v, %v", n, ext, got, err)
			}
			ids = append(ids, got.ID)
		}
	}
	return ids
}

func (s *stack) awaitReceipts(t *testing.T, ids []string, what string, want ration.ReceiptStatus) map[string]ration.Receipt {
	t.Helper()
	got := map[string]ration.Receipt{}
	await(t, time.Minute, what, func() (bool, string) {
		for _, id := range ids {
			r, err := s.api.Receipt(context.Background(), id)
			if err != nil {
				return false, fmt.Sprintf("%s: %v", id, err)
			}
			if r.Status != want {
				return false, fmt.Sprintf("%s is %s", id, r.Status)
			}
			got[id] = r
		}
		return true, ""
	})
	return got
}

// TestReceiptsEndToEnd: through `ration dev`'s API, receipts of every
// sample type in JSON and XML reach ACCEPTED with both registration
// numbers; each service registered each once; a receipt's document comes
// back as it was sent and a page lists them all. With the tax office
// down they park at the tax stage, and a reprocessing run, once it is
// back, brings them home, each still registered once, and a parked
// receipt's history shows the way it came.
func TestReceiptsEndToEnd(t *testing.T) {
	s := startStackWith(t, t.TempDir(), func(cfg *Config) {
		cfg.Tuning.RetryDelays = []time.Duration{20 * time.Millisecond, 40 * time.Millisecond, 80 * time.Millisecond}
		cfg.Reprocess.Window = closedWindow()
	})
	ctx := context.Background()
	names := s.putSampleTypes(t)
	ids := s.submitSamples(t, names)
	accepted := s.awaitReceipts(t, ids, "every sample accepted", ration.ReceiptAccepted)
	for id, r := range accepted {
		if !strings.HasPrefix(r.TaxRegistration, "TAX-") || !strings.HasPrefix(r.LogisticsRegistration, "LOG-") || r.AcceptedAt == nil {
			t.Fatalf("%s accepted as %+v", id, r)
		}
	}
	for _, svc := range []string{"tax", "logistics"} {
		if st := s.simStats(t, svc); st.Registrations != len(ids) {
			t.Fatalf("%s: %+v, want %d registrations", svc, st, len(ids))
		}
	}
	// Sent again, a receipt is answered as it stands now, and nothing is
	// registered twice.
	doc, err := os.ReadFile(filepath.Join(receiptSamples, "samples", "retail.json"))
	if err != nil {
		t.Fatal(err)
	}
	again, err := s.api.SubmitReceipt(ctx, "application/json", doc)
	if err != nil || again.New || again.Status != ration.ReceiptAccepted {
		t.Fatalf("the retail sample again: %+v, %v; want 200 ACCEPTED", again, err)
	}
	// A JSON receipt's document is its bytes as sent, white space and all
	// (its record on Kafka carries them once, as its value).
	await(t, 30*time.Second, "the retail receipt's document", func() (bool, string) {
		ct, stored, err := s.api.ReceiptDocument(ctx, again.ID)
		if err != nil {
			return false, err.Error()
		}
		return ct == "application/json" && bytes.Equal(stored, doc), fmt.Sprintf("%s, %d bytes, want the %d sent", ct, len(stored), len(doc))
	})
	doc, err = os.ReadFile(filepath.Join(receiptSamples, "samples", "fuel.xml"))
	if err != nil {
		t.Fatal(err)
	}
	var fuelXML string
	for _, id := range ids {
		if strings.Contains(id, "F-2026-X") {
			fuelXML = id
		}
	}
	var stored []byte
	var ct string
	await(t, 30*time.Second, "the fuel receipt's document", func() (bool, string) {
		ct, stored, err = s.api.ReceiptDocument(ctx, fuelXML)
		return err == nil, fmt.Sprint(err)
	})
	if ct != "application/xml" || !bytes.Equal(stored, doc) {
		t.Fatalf("document of %s: %s, %d bytes, want the %d sent", fuelXML, ct, len(stored), len(doc))
	}
	// A page reads ClickHouse, which can trail a GET (answered from Kafka
	// while a receipt is on its way) by a flush of the sink.
	await(t, 30*time.Second, "a page of every accepted receipt", func() (bool, string) {
		page, err := s.api.Receipts(ctx, apiclient.ReceiptFilter{Status: ration.ReceiptAccepted})
		return err == nil && len(page.Receipts) == len(ids), fmt.Sprintf("%d, %v; want %d", len(page.Receipts), err, len(ids))
	})

	// The tax office down: receipts park at the tax stage.
	s.setFaults(t, "tax", `{"down_for_seconds": 3600}`)
	shop, err := s.api.AddAPIClient(ctx, "shop-2", "write")
	if err != nil {
		t.Fatal(err)
	}
	s2 := &stack{addrs: s.addrs, api: apiclient.New(s.addrs.API, nil).WithKey(shop.Key)}
	parked := s2.submitSamples(t, names[:2])
	for id, r := range s.awaitReceipts(t, parked, "receipts parked at the tax stage", ration.ReceiptParked) {
		if r.ParkedStage != "tax" {
			t.Fatalf("%s parked at %q", id, r.ParkedStage)
		}
	}
	s.setFaults(t, "tax", `{"down_for_seconds": 0}`)
	// A run selects from ClickHouse, which the sink fills after the API
	// (answering from Kafka) shows PARKED: a dry run says when it is there.
	await(t, time.Minute, "a dry run selects every parked receipt", func() (bool, string) {
		dry, err := s.api.Reprocess(ctx, apiclient.ReprocessRequest{Pipeline: "receipts", DryRun: true})
		return err == nil && dry.Selected == len(parked), fmt.Sprintf("%+v, %v", dry, err)
	})
	if rep, err := s.api.Reprocess(ctx, apiclient.ReprocessRequest{Pipeline: "receipts"}); err != nil || rep.Resent != len(parked) {
		t.Fatalf("run: %+v, %v; want %d re-sent", rep, err, len(parked))
	}
	s.awaitReceipts(t, parked, "the parked receipts accepted", ration.ReceiptAccepted)
	for _, svc := range []string{"tax", "logistics"} {
		if st := s.simStats(t, svc); st.Registrations != len(ids)+len(parked) {
			t.Fatalf("%s: %+v, want %d registrations", svc, st, len(ids)+len(parked))
		}
	}
	// A parked receipt's history tells it all, in order: the tax office's
	// errors until it parked, the run that sent it back (the tax stage's
	// REPROCESS, the reprocessor's SUCCESS), then the tax stage's success
	// and the last stage's PROCESSED.
	await(t, 30*time.Second, "a parked receipt's history", func() (bool, string) {
		r, err := s.api.Receipt(ctx, parked[0])
		if err != nil {
			return false, err.Error()
		}
		var seen []string
		for _, e := range r.History {
			seen = append(seen, e.Stage+"/"+e.Status)
		}
		seen = slices.Compact(seen) // the retries: as many as the delays took
		want := []string{"tax/ERROR", "tax/REPROCESS", "reprocess/SUCCESS", "tax/SUCCESS", "logistics/PROCESSED"}
		return slices.Equal(seen, want), fmt.Sprintf("%v, want %v", seen, want)
	})
}
