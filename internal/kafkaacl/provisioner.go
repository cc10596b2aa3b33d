package kafkaacl

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"regexp"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
)

// Mechanism is the SASL mechanism of every worker's credentials.
const Mechanism = "SCRAM-SHA-512"

// UserPrefix starts every worker's Kafka user name, so a worker can never
// be given the name (and so the password) of the admin or another role.
const UserPrefix = "worker-"

// scramIterations is Kafka's default and minimum; the password is 32
// random bytes, so more iterations would slow every connection and
// protect nothing.
const scramIterations = 4096

var (
	// ErrUnknownPipeline is returned for a pipeline the provisioner does
	// not know.
	ErrUnknownPipeline = errors.New("unknown pipeline")
	// ErrInvalidName is returned for a worker name that is not 1 to 64
	// letters, digits, '.', '_' or '-' starting with a letter or digit.
	ErrInvalidName = errors.New("invalid worker name")
)

var validName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// Provisioner creates and revokes workers' Kafka credentials and ACLs. Its
// admin client must be allowed to alter the cluster (ration's admin user
// is a super user). It is safe for concurrent use.
type Provisioner struct {
	adm       *kadm.Client
	pipelines Pipelines
}

// NewProvisioner returns a Provisioner that works through adm and grants a
// worker of a pipeline what pipelines says.
func NewProvisioner(adm *kadm.Client, pipelines Pipelines) *Provisioner {
	return &Provisioner{adm: adm, pipelines: pipelines}
}

// Username is the Kafka user of the worker called name.
func Username(name string) string { return UserPrefix + name }

// CreateWorker gives the worker called name a Kafka user with a fresh
// random password (32 bytes, base64url) for SCRAM-SHA-512 and the ACLs of
// pipeline. Calling it again for the same worker and pipeline rotates the
// password (ACLs are idempotent); to move a worker to another pipeline,
// revoke it first.
func (p *Provisioner) CreateWorker(ctx context.Context, name, pipeline string) (username, password string, err error) {
	if !validName.MatchString(name) {
		return "", "", fmt.Errorf("%w: %q", ErrInvalidName, name)
	}
	grants, ok := p.pipelines[pipeline]
	if !ok {
		return "", "", fmt.Errorf("%w: %q", ErrUnknownPipeline, pipeline)
	}
	username = Username(name)
	// ACLs first: credentials that work before their ACLs exist would only
	// be refused, but ACLs without credentials harm nobody.
	for _, b := range builders(grants, principal(username)) {
		res, err := p.adm.CreateACLs(ctx, b)
		if err == nil {
			for _, r := range res {
				if r.Err != nil {
					err = fmt.Errorf("%s %s %s: %w", r.Type, r.Name, r.Operation, r.Err)
					break
				}
			}
		}
		if err != nil {
			return "", "", fmt.Errorf("worker %s: create acls: %w", name, err)
		}
	}
	password = newPassword()
	res, err := p.adm.AlterUserSCRAMs(ctx, nil, []kadm.UpsertSCRAM{{
		User: username, Mechanism: kadm.ScramSha512, Iterations: scramIterations, Password: password,
	}})
	if err == nil {
		err = res[username].Err
	}
	if err != nil {
		return "", "", fmt.Errorf("worker %s: set credentials: %w", name, err)
	}
	return username, password, nil
}

// RevokeWorker deletes the worker's credentials, so it cannot connect
// again, and all of its ACLs, so a connection it still holds is refused
// on its next request. Revoking a worker that does not exist (or was
// revoked already) is not an error.
func (p *Provisioner) RevokeWorker(ctx context.Context, name string) error {
	if !validName.MatchString(name) {
		return fmt.Errorf("%w: %q", ErrInvalidName, name)
	}
	username := Username(name)
	res, err := p.adm.AlterUserSCRAMs(ctx, []kadm.DeleteSCRAM{{User: username, Mechanism: kadm.ScramSha512}}, nil)
	if err == nil {
		if err = res[username].Err; errors.Is(err, kerr.ResourceNotFound) {
			err = nil
		}
	}
	if err != nil {
		return fmt.Errorf("worker %s: delete credentials: %w", name, err)
	}
	del := kadm.NewACLs().Allow(principal(username)).AllowHosts().
		AnyResource().ResourcePatternType(kadm.ACLPatternAny).Operations(kadm.OpAny)
	dres, err := p.adm.DeleteACLs(ctx, del)
	if err == nil {
		for _, r := range dres {
			if r.Err != nil {
				err = r.Err
				break
			}
		}
	}
	if err != nil {
		return fmt.Errorf("worker %s: delete acls: %w", name, err)
	}
	return nil
}

func principal(user string) string { return "User:" + user }

// newPassword returns 32 random bytes, base64url without padding.
func newPassword() string {
	b := make([]byte, 32)
	rand.Read(b) // never fails (crypto/rand panics instead)
	return base64.RawURLEncoding.EncodeToString(b)
}
