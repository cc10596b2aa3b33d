package broker

import (
	"encoding/json"
	"fmt"
	"log/slog"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sr/srfake"
)

type subjectVersion struct {
	subject string
	version int
}

// replay registers the journaled schemas into reg in journal order and
// returns the id of every subject version it restored.
//
// srfake seeds a schema at a given id only if the id is new (SeedSchema
// panics otherwise, and advances its next id past the seeded one). A
// registration that reused an id (the same schema under another subject)
// is therefore replayed through RegisterSchema, which reuses the id the
// same way it did the first time: the journal holds registrations in the
// order srfake made them, and nothing is ever deleted.
func replay(reg *srfake.Registry, recs []*kgo.Record, log *slog.Logger) (map[subjectVersion]int, error) {
	restored := make(map[subjectVersion]int)
	ids := make(map[int]bool)
	for _, r := range recs {
		var k journalKey
		if err := json.Unmarshal(r.Key, &k); err != nil || k.KeyType != keyTypeSchema {
			// Confluent writes CONFIG, MODE, NOOP... keys too; none
			// carries an id.
			log.Warn("schema journal: skipping record that is no schema", "offset", r.Offset, "key", string(r.Key))
			continue
		}
		if r.Value == nil {
			log.Warn("schema journal: skipping tombstone", "offset", r.Offset, "subject", k.Subject, "version", k.Version)
			continue
		}
		var v journalValue
		if err := json.Unmarshal(r.Value, &v); err != nil {
			return nil, fmt.Errorf("schema journal offset %d: %w", r.Offset, err)
		}
		if v.Deleted {
			log.Warn("schema journal: skipping deleted schema", "offset", r.Offset, "subject", v.Subject, "version", v.Version, "id", v.ID)
			continue
		}
		sv := subjectVersion{v.Subject, v.Version}
		if id, ok := restored[sv]; ok {
			if id == v.ID {
				continue // a journal write that was retried
			}
			return nil, fmt.Errorf("schema journal offset %d: %s version %d has id %d and %d", r.Offset, v.Subject, v.Version, id, v.ID)
		}
		if err := restore(reg, v, ids[v.ID]); err != nil {
			return nil, fmt.Errorf("schema journal offset %d: %w", r.Offset, err)
		}
		restored[sv] = v.ID
		ids[v.ID] = true
	}
	return restored, nil
}

// restore puts one journaled schema back into reg at its id.
func restore(reg *srfake.Registry, v journalValue, idKnown bool) (err error) {
	if !idKnown {
		defer func() {
			if p := recover(); p != nil {
				err = fmt.Errorf("seed %s version %d id %d: %v", v.Subject, v.Version, v.ID, p)
			}
		}()
		reg.SeedSchema(v.Subject, v.Version, v.ID, v.schema())
		return nil
	}
	id, version, err := reg.RegisterSchema(v.Subject, v.schema())
	if err != nil {
		return fmt.Errorf("restore %s version %d id %d: %w", v.Subject, v.Version, v.ID, err)
	}
	if id != v.ID || version != v.Version {
		return fmt.Errorf("restore %s version %d id %d: registry gave version %d id %d", v.Subject, v.Version, v.ID, version, id)
	}
	return nil
}
