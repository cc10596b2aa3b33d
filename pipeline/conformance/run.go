package conformance

import (
	"testing"
)

// The size of the checks: keys keys of perKey items each, a share of
// whose tries fail in every stage with retries.
const (
	keys         = 50
	perKey       = 40
	faultPercent = 20
)

// Run runs every check of the suite on s, each as a subtest on a broker
// of its own. The test binary's TestMain must pass s to Child.
func Run(t *testing.T, s Subject) {
	t.Helper()
	s.setDefaults()
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	if err := s.Pipeline().Validate(); err != nil {
		t.Fatal(err)
	}
	t.Run("ExactlyOnceInKeyOrder", func(t *testing.T) { checkExactlyOnce(t, s) })
	t.Run("RetriesThenParking", func(t *testing.T) { checkParking(t, s) })
	t.Run("Rebalance", func(t *testing.T) { checkRebalance(t, s) })
	t.Run("KilledWorker", func(t *testing.T) { checkKilledWorker(t, s) })
}

// verify hands what came out to the subject's own check, if any.
func verify(t *testing.T, s Subject, it *items) {
	t.Helper()
	if s.Verify != nil {
		s.Verify(t, it.want())
	}
}

// requireInjected fails t unless f failed tries in every stage with
// retries: else the check did not exercise them.
func (c *cluster) requireInjected(t *testing.T, f *faults) {
	t.Helper()
	for _, st := range retryStages(c.d) {
		n := f.counter(st).Load()
		if n == 0 {
			t.Errorf("no try failed in stage %s: the check did not exercise its retries", st)
		}
		t.Logf("stage %s: %d tries failed", st, n)
	}
}
