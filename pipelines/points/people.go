package points

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/rationhq/ration/auth"
	"github.com/rationhq/ration/schemas"
)

// Regions are the users' home regions and the prefixes of their ids
// (PT-2).
var Regions = map[string]string{"R1": "001", "R2": "002", "R3": "003"}

// idAlphabet makes the six characters after a user id's prefix: short to
// type at a till, unambiguous to read out.
const idAlphabet = "abcdefghijkmnpqrstuvwxyz23456789"

// newID returns prefix, a dash and n random characters of idAlphabet.
func newID(prefix string, n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	for i := range b {
		b[i] = idAlphabet[int(b[i])%len(idAlphabet)]
	}
	return prefix + "-" + string(b)
}

// RegionOf returns the region a user id's prefix names.
func RegionOf(userID string) (string, bool) {
	prefix, _, ok := strings.Cut(userID, "-")
	if !ok {
		return "", false
	}
	for r, p := range Regions {
		if p == prefix {
			return r, true
		}
	}
	return "", false
}

// tokenPrefix marks the principals a token authenticates: a user, not an
// API client (whose names cannot contain a colon).
const tokenPrefix = "user:"

// Tokens issues and checks the short-lived tokens users log in for: the
// user id and an expiry, signed with HMAC-SHA-256. Every API process that
// shares the secret accepts every other's tokens, with nothing to look up.
type Tokens struct {
	secret []byte
	ttl    time.Duration
	now    func() time.Time
}

// NewTokens returns tokens signed with secret, valid for ttl.
func NewTokens(secret []byte, ttl time.Duration) (*Tokens, error) {
	if len(secret) < 32 {
		return nil, errors.New("points: the token secret needs at least 32 bytes")
	}
	return &Tokens{secret: secret, ttl: ttl, now: time.Now}, nil
}

// Issue returns a token for user and when it expires.
func (t *Tokens) Issue(user string) (string, time.Time) {
	exp := t.now().Add(t.ttl).Truncate(time.Second)
	payload := base64.RawURLEncoding.EncodeToString([]byte(user + "|" + strconv.FormatInt(exp.Unix(), 10)))
	return payload + "." + t.sign(payload), exp
}

func (t *Tokens) sign(payload string) string {
	m := hmac.New(sha256.New, t.secret)
	m.Write([]byte(payload))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// User returns the user a token was issued to, if it is ours and has not
// expired.
func (t *Tokens) User(token string) (string, error) {
	payload, sig, ok := strings.Cut(token, ".")
	if !ok || !hmac.Equal([]byte(sig), []byte(t.sign(payload))) {
		return "", errors.New("not a token of this API")
	}
	raw, err := base64.RawURLEncoding.DecodeString(payload)
	if err != nil {
		return "", errors.New("not a token of this API")
	}
	user, exp, _ := strings.Cut(string(raw), "|")
	unix, err := strconv.ParseInt(exp, 10, 64)
	if err != nil {
		return "", errors.New("not a token of this API")
	}
	if !t.now().Before(time.Unix(unix, 0)) {
		return "", fmt.Errorf("the token expired at %s: log in again", time.Unix(unix, 0).UTC().Format(time.RFC3339))
	}
	return user, nil
}

// Authenticate implements api.Authenticator: a user's token is the user,
// with write scope (to act on their groups; what they may do is the
// routes' and the ledger's to say).
func (t *Tokens) Authenticate(token string) (auth.Principal, bool) {
	user, err := t.User(token)
	if err != nil {
		return auth.Principal{}, false
	}
	return auth.Principal{Name: tokenPrefix + user, Scope: schemas.ScopeWrite}, true
}

// userOf returns the user a principal is, if it is one.
func userOf(p auth.Principal) (string, bool) { return strings.CutPrefix(p.Name, tokenPrefix) }
