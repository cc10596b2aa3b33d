package dm

import (
	"testing"

	"github.com/rationhq/ration/internal/chserver/chtest"
	"github.com/rationhq/ration/pipeline/conformance"
)

// One ClickHouse server serves the whole test binary; each test uses a
// database of its own.
func TestMain(m *testing.M) { conformance.Child(conformanceSubject); chtest.Main(m) }
