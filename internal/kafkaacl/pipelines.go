package kafkaacl

import (
	"slices"
	"strings"

	"github.com/twmb/franz-go/pkg/kadm"
)

// Resource is what a Grant is about.
type Resource uint8

// The resources a worker is granted.
const (
	Topic Resource = iota
	Group
	TransactionalID
)

// Grant is one thing a worker of a pipeline may do: operations on a
// resource named literally or by prefix. A pipeline's grants are derived
// from its descriptor (package pipeline), never typed by hand.
type Grant struct {
	Resource Resource
	Name     string
	Prefixed bool
	Ops      []kadm.ACLOperation
}

// Pipelines are the grants of a worker of each pipeline, by pipeline name.
type Pipelines map[string][]Grant

// No IdempotentWrite on the cluster: a transactional producer is
// authorized by Write on its transactional id, and since Kafka 3.0
// (KIP-679) Write on any topic implies IdempotentWrite anyway. No Create:
// the admin creates topics at bootstrap; workers tolerate being refused.

// builders returns the builders that create (and describe) grants for
// principal, from any host.
func builders(grants []Grant, principal string) []*kadm.ACLBuilder {
	var out []*kadm.ACLBuilder
	for _, g := range grants {
		b := kadm.NewACLs().Allow(principal)
		switch g.Resource {
		case Topic:
			b = b.Topics(g.Name)
		case Group:
			b = b.Groups(g.Name)
		case TransactionalID:
			b = b.TransactionalIDs(g.Name)
		}
		pattern := kadm.ACLPatternLiteral
		if g.Prefixed {
			pattern = kadm.ACLPatternPrefixed
		}
		out = append(out, b.Operations(g.Ops...).ResourcePatternType(pattern))
	}
	return out
}

// Merge returns grants with the operations of grants on the same resource
// joined, in a stable order: what several stages of one pipeline need.
func Merge(grants []Grant) []Grant {
	type key struct {
		r        Resource
		name     string
		prefixed bool
	}
	byKey := make(map[key]*Grant)
	var keys []key
	for _, g := range grants {
		k := key{g.Resource, g.Name, g.Prefixed}
		if m := byKey[k]; m != nil {
			for _, op := range g.Ops {
				if !slices.Contains(m.Ops, op) {
					m.Ops = append(m.Ops, op)
				}
			}
			continue
		}
		c := g
		c.Ops = slices.Clone(g.Ops)
		byKey[k] = &c
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b key) int {
		if a.r != b.r {
			return int(a.r) - int(b.r)
		}
		if c := strings.Compare(a.name, b.name); c != 0 {
			return c
		}
		if a.prefixed == b.prefixed {
			return 0
		}
		if a.prefixed {
			return 1
		}
		return -1
	})
	out := make([]Grant, len(keys))
	for i, k := range keys {
		g := *byKey[k]
		slices.Sort(g.Ops)
		out[i] = g
	}
	return out
}
