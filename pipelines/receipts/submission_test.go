package receipts

import (
	"bytes"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rationhq/ration/api"
	"github.com/rationhq/ration/pipelines/receipts/receipttype"
)

const samples = "../../docs/receipts"

// sampleTypes are the shipped sample types, as a Types.
type sampleTypes map[string]receipttype.Entry

func (s sampleTypes) Get(name string) (receipttype.Entry, bool) { e, ok := s[name]; return e, ok }

func loadSampleTypes(t testing.TB) sampleTypes {
	t.Helper()
	out := sampleTypes{}
	for _, name := range []string{"retail", "fuel", "pharmacy", "restaurant"} {
		doc, err := os.ReadFile(filepath.Join(samples, "types", name+".json"))
		if err != nil {
			t.Fatal(err)
		}
		typ, err := receipttype.Compile(name, doc)
		if err != nil {
			t.Fatal(err)
		}
		out[name] = receipttype.Entry{Type: typ}
	}
	return out
}

func sampleDoc(t testing.TB, file string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(samples, "samples", file))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestSamplesAreRead: every sample, in both formats, is read with its
// type, id, digest and value.
func TestSamplesAreRead(t *testing.T) {
	types := loadSampleTypes(t)
	for _, name := range []string{"retail", "fuel", "pharmacy", "restaurant"} {
		for ext, ct := range map[string]string{".json": "application/json", ".xml": "application/xml; charset=UTF-8"} {
			doc := sampleDoc(t, name+ext)
			s, err := Read(ct, bytes.NewReader(doc), types)
			if err != nil {
				t.Fatalf("%s%s: %v", name, ext, err)
			}
			if s.Type != name || s.ReceiptID == "" || !bytes.Equal(s.Document, doc) || len(s.Digest) != 64 || s.Value["total"] == nil {
				t.Errorf("%s%s read as %+v", name, ext, s)
			}
		}
	}
}

// TestBadReceiptsAreRefused: each is refused with its status and says
// why; nothing is read from it.
func TestBadReceiptsAreRefused(t *testing.T) {
	types := loadSampleTypes(t)
	retail := string(sampleDoc(t, "retail.json"))
	retailXML := string(sampleDoc(t, "retail.xml"))
	deepJSON := strings.Repeat(`{"a":`, MaxDepth+1) + "1" + strings.Repeat("}", MaxDepth+1)
	for _, tc := range []struct {
		name, contentType, body string
		status                  int
		wantIn                  string
	}{
		{"text", "text/plain", retail, http.StatusUnsupportedMediaType, "application/json"},
		{"no content type", "", retail, http.StatusUnsupportedMediaType, "application/json"},
		{"latin-1", "application/json; charset=latin1", retail, http.StatusUnsupportedMediaType, "UTF-8"},
		{"too big", "application/json", retail[:len(retail)-2] + `,"x":"` + strings.Repeat("x", MaxBody) + `"}`, http.StatusRequestEntityTooLarge, "at most"},
		{"malformed JSON", "application/json", `{"type": "retail",`, http.StatusBadRequest, "not JSON"},
		{"trailing", "application/json", retail + "{}", http.StatusBadRequest, "more after"},
		{"array", "application/json", `[1]`, http.StatusBadRequest, "object"},
		{"deep JSON", "application/json", deepJSON, http.StatusBadRequest, "deeper"},
		{"malformed XML", "application/xml", `<receipt type="retail" id="x">`, http.StatusBadRequest, "XML"},
		{"doctype", "application/xml", `<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>` + retailXML[strings.Index(retailXML, "<receipt"):], http.StatusBadRequest, "DOCTYPE"},
		{"no type", "application/json", `{"receipt_id": "a"}`, http.StatusUnprocessableEntity, "not valid"},
		{"unknown type", "application/json", strings.Replace(retail, `"retail"`, `"bakery"`, 1), http.StatusUnprocessableEntity, "not valid"},
		{"unknown type in XML", "application/xml", strings.Replace(retailXML, `type="retail"`, `type="bakery"`, 1), http.StatusUnprocessableEntity, "not valid"},
		{"no id", "application/xml", strings.Replace(retailXML, ` id="R-2026-X000001"`, "", 1), http.StatusUnprocessableEntity, "1 reason"},
		{"bad id", "application/json", strings.Replace(retail, `"R-2026-000001"`, `"../etc"`, 1), http.StatusUnprocessableEntity, "1 reason"},
		{"invalid", "application/json", strings.Replace(retail, `"total": 4.7`, `"total": 5.7`, 1), http.StatusUnprocessableEntity, "not a valid retail receipt"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Read(tc.contentType, strings.NewReader(tc.body), types)
			var ae *api.Error
			if !errors.As(err, &ae) || ae.Status() != tc.status || !strings.Contains(ae.Message(), tc.wantIn) {
				t.Fatalf("Read = %v, want %d mentioning %q", err, tc.status, tc.wantIn)
			}
			if tc.status == http.StatusUnprocessableEntity && len(ae.Reasons()) == 0 {
				t.Fatal("a 422 without reasons")
			}
		})
	}
}

// FuzzRead: no body makes reading panic; what is read is valid.
func FuzzRead(f *testing.F) {
	types := loadSampleTypes(f)
	f.Add("application/json", sampleDoc(f, "pharmacy.json"))
	f.Add("application/xml", sampleDoc(f, "fuel.xml"))
	f.Fuzz(func(t *testing.T, contentType string, body []byte) {
		s, err := Read(contentType, bytes.NewReader(body), types)
		if err != nil {
			var ae *api.Error
			if !errors.As(err, &ae) || ae.Status() < 400 || ae.Status() > 499 {
				t.Fatalf("error %v is not a 4xx", err)
			}
			return
		}
		if rs := types[s.Type].Validate(s.Value); rs != nil {
			t.Fatalf("read an invalid receipt: %v", rs)
		}
	})
}

// TestDepthCountsOnlyBracketsOutsideStrings: brackets in strings, escaped
// quotes among them, are text; nesting is counted where it is.
func TestDepthCountsOnlyBracketsOutsideStrings(t *testing.T) {
	deep := strings.Repeat("[", MaxDepth+1)
	for _, tc := range []struct {
		doc     string
		tooDeep bool
	}{
		{`{"a": "` + deep + `"}`, false},
		{`{"a": "\"` + deep + `\\"}`, false},
		{`{"a": "\\"}` + deep, true},
		{`{"a": "\"", "b": ` + deep[1:] + strings.Repeat("]", MaxDepth) + `}`, true},
		{`{"a": ` + deep[2:] + strings.Repeat("]", MaxDepth-1) + `}`, false},
	} {
		if err := checkDepth([]byte(tc.doc)); (err != nil) != tc.tooDeep {
			t.Errorf("checkDepth(%.40q…) = %v, want too deep: %v", tc.doc, err, tc.tooDeep)
		}
	}
}
