package dm

import (
	"slices"
	"strings"

	"github.com/rationhq/ration/processor"
)

// mapState is a processor.State in a map, for running handlers without
// Kafka.
type mapState map[string][]byte

var _ processor.State = mapState(nil)

func (m mapState) Get(key string) ([]byte, bool) { v, ok := m[key]; return v, ok }

func (m mapState) Put(key string, value []byte) { m[key] = append([]byte{}, value...) }

func (m mapState) Delete(key string) { delete(m, key) }

func (m mapState) First(prefix string) (string, []byte, bool) {
	var keys []string
	for k := range m {
		if strings.HasPrefix(k, prefix) {
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		return "", nil, false
	}
	k := slices.Min(keys)
	return k, m[k], true
}
