package registrar

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
)

// Service names a registrar service. Its name feeds the registration
// numbers; its prefix begins them.
type Service struct {
	Name   string
	Prefix string
}

// The services the receipts pipeline reports to.
var (
	TaxOffice = Service{Name: "tax", Prefix: "TAX-"}
	Logistics = Service{Name: "logistics", Prefix: "LOG-"}
)

// Validate reports whether s has a name and a prefix.
func (s Service) Validate() error {
	if s.Name == "" || s.Prefix == "" {
		return errors.New("registrar: a service needs a name and a prefix")
	}
	return nil
}

// Number is the registration number of key: the prefix and the first 16
// hex digits of SHA-256(name + "\x00" + key).
func (s Service) Number(key string) string {
	h := s.hash(key)
	return s.Prefix + hex.EncodeToString(h[:8])
}

// refuses reports whether a refuse rate of rate refuses the registration
// of key. The choice is by key, so a retry is refused again; it reads the
// last 8 bytes of the hash, which the number does not show.
func (s Service) refuses(key string, rate float64) bool {
	h := s.hash(key)
	// 53 random bits make a float64 in [0, 1) exactly.
	share := float64(binary.BigEndian.Uint64(h[24:])>>11) / (1 << 53)
	return share < rate
}

func (s Service) hash(key string) [sha256.Size]byte {
	return sha256.Sum256([]byte(s.Name + "\x00" + key))
}
