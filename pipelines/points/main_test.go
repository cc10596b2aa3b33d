package points

import (
	"testing"

	"github.com/rationhq/ration/internal/chserver/chtest"
)

// One ClickHouse server serves the whole test binary (if a test asks for
// it); each test uses a database of its own.
func TestMain(m *testing.M) { chtest.Main(m) }
