package auth

import (
	"fmt"
	"testing"

	"github.com/rationhq/ration/schemas"
)

// BenchmarkAuthenticate looks up one of 10 000 registered keys.
func BenchmarkAuthenticate(b *testing.B) {
	reg := NewRegistry()
	keys := make([]string, 10_000)
	for i := range keys {
		keys[i] = newKey(b)
		reg.Apply(apiClient2(fmt.Sprintf("c%05d", i), schemas.ScopeWrite, keys[i]))
	}
	b.ReportAllocs()
	b.ResetTimer()
	i := 0
	for b.Loop() {
		if _, ok := reg.Authenticate(keys[i%len(keys)]); !ok {
			b.Fatal("refused")
		}
		i++
	}
}
