package broker

import (
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// AdminUser is the broker's superuser: ration's own roles (topic creation,
// the schema journal, the API's producer, the sink, provisioning of worker
// credentials) authenticate as it. Registered workers get their own users
// and only the ACLs of their pipeline.
const AdminUser = "ration-admin"

// AdminFileName is the admin credentials' file in the data dir.
const AdminFileName = "admin.kafka.json"

// Mechanism is the only SASL mechanism ration uses.
const Mechanism = "SCRAM-SHA-512"

// Credentials are a SASL/SCRAM user and password, as kept in the admin file.
type Credentials struct {
	User      string `json:"user"`
	Password  string `json:"password"`
	Mechanism string `json:"mechanism"`
}

// NewPassword returns 32 random bytes, base64url without padding.
func NewPassword() string {
	b := make([]byte, 32)
	rand.Read(b) // never fails (crypto/rand panics instead)
	return base64.RawURLEncoding.EncodeToString(b)
}

// loadOrCreateAdmin reads the admin credentials from path, creating them
// with a random password (mode 0600) if the file does not exist. An empty
// path keeps fresh credentials in memory only.
func loadOrCreateAdmin(path string) (Credentials, error) {
	fresh := Credentials{User: AdminUser, Password: NewPassword(), Mechanism: Mechanism}
	if path == "" {
		return fresh, nil
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return Credentials{}, fmt.Errorf("admin credentials: %w", err)
		}
		b, _ := json.MarshalIndent(fresh, "", "  ")
		// O_EXCL: two brokers started at once on one file must not
		// each write their own password.
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return Credentials{}, fmt.Errorf("admin credentials: %w", err)
		}
		_, werr := f.Write(append(b, '\n'))
		if err := errors.Join(werr, f.Sync(), f.Close()); err != nil {
			os.Remove(path)
			return Credentials{}, fmt.Errorf("admin credentials: %w", err)
		}
		return fresh, nil
	}
	if err != nil {
		return Credentials{}, fmt.Errorf("admin credentials: %w", err)
	}
	var c Credentials
	if err := json.Unmarshal(b, &c); err != nil {
		return Credentials{}, fmt.Errorf("admin credentials %s: %w", path, err)
	}
	if c.User == "" || c.Password == "" {
		return Credentials{}, fmt.Errorf("admin credentials %s: no user or password", path)
	}
	if c.Mechanism != "" && c.Mechanism != Mechanism {
		return Credentials{}, fmt.Errorf("admin credentials %s: mechanism %q, want %s", path, c.Mechanism, Mechanism)
	}
	return c, nil
}

// kfake persists SASL users in kafka/sasl.json and, on a restart, replaces
// the users seeded by kfake.Superuser with the persisted ones. The admin
// file is the source of truth for the admin's password, so before kfake
// loads its state the admin's SCRAM-SHA-512 entry there is set to match
// it. Without this, a data dir written before SASL was on (an empty
// sasl.json) would lock the admin out, and so would a deleted admin file.
// This leans on kfake's persisted format (pinned with kfake's
// pseudo-version in go.mod).
const (
	kfakeSASLFile       = "sasl.json"
	kfakeScramIteration = 4096
)

type kfakeScram struct {
	Mechanism  string `json:"mechanism"`
	Salt       []byte `json:"salt"`
	SaltedPass []byte `json:"salted_pass"`
	Iterations int    `json:"iterations"`
}

// syncPersistedAdmin makes kafkaDir/sasl.json, if it exists, carry adm's
// password.
func syncPersistedAdmin(kafkaDir string, adm Credentials) error {
	path := filepath.Join(kafkaDir, kfakeSASLFile)
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil // first start: the seeded superuser is used as is
	}
	if err != nil {
		return fmt.Errorf("kafka sasl state: %w", err)
	}
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(b, &doc); err != nil {
		return fmt.Errorf("kafka sasl state %s: %w", path, err)
	}
	users := map[string]kfakeScram{}
	if raw, ok := doc["scram512"]; ok {
		if err := json.Unmarshal(raw, &users); err != nil {
			return fmt.Errorf("kafka sasl state %s: %w", path, err)
		}
	}
	if cur, ok := users[adm.User]; ok && cur.Iterations > 0 {
		salted, err := pbkdf2.Key(sha512.New, adm.Password, cur.Salt, cur.Iterations, sha512.Size)
		if err == nil && string(salted) == string(cur.SaltedPass) {
			return nil
		}
	}
	salt := make([]byte, 16)
	rand.Read(salt) // never fails
	salted, err := pbkdf2.Key(sha512.New, adm.Password, salt, kfakeScramIteration, sha512.Size)
	if err != nil {
		return fmt.Errorf("admin scram: %w", err)
	}
	users[adm.User] = kfakeScram{Mechanism: Mechanism, Salt: salt, SaltedPass: salted, Iterations: kfakeScramIteration}
	raw, err := json.Marshal(users)
	if err != nil {
		return err
	}
	doc["scram512"] = raw
	out, err := json.Marshal(doc)
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, out, 0o600); err != nil {
		return fmt.Errorf("kafka sasl state: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("kafka sasl state: %w", err)
	}
	return nil
}
