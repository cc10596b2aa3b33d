package notify

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"
)

// Item is one item given up on.
type Item struct {
	Pipeline   string
	ItemID     string
	Stage      string
	Error      string
	RetryCount int
	FailedAt   time.Time
}

// Batch is what one notification tells. ID must be stable across repeats
// of the same batch (see the package doc).
type Batch struct {
	ID    string
	Items []Item
}

// Notifier tells people about failed items. It is safe for concurrent use.
type Notifier interface {
	// Notify sends b to every channel. A batch without items sends
	// nothing; a batch without an ID is an error, and so is a batch with
	// items and no channel to send it to (ErrNoChannel).
	Notify(ctx context.Context, b Batch) error
}

// ErrNoBatchID is returned for a batch whose ID is empty or holds nothing
// usable in a header.
var ErrNoBatchID = errors.New("notify: batch has no id")

// ErrNoChannel is returned for a batch with items when no channel is
// configured: nobody was told, and the caller should keep the items to
// tell about them once a channel is.
var ErrNoChannel = errors.New("notify: no notification channel configured")

// channel delivers a batch through one technology.
type channel interface {
	name() string
	send(ctx context.Context, b Batch, key string) error
}

// New returns a Notifier for the channels cfg configures; with none, its
// Notify returns ErrNoChannel. A nil log discards.
func New(cfg Config, log *slog.Logger) (Notifier, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("notify config: %w", err)
	}
	n := &notifier{log: log, timeout: cfg.Timeout}
	if cfg.SMTPAddr != "" {
		e, err := newEmail(cfg)
		if err != nil {
			return nil, err
		}
		n.channels = append(n.channels, e)
	}
	if cfg.WebhookURL != "" {
		n.channels = append(n.channels, &webhook{
			url: cfg.WebhookURL,
			// The per-send context carries the timeout. A redirect is an
			// answer, not a delivery: a 302 would turn the POST into a GET.
			client: &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error {
				return http.ErrUseLastResponse
			}},
		})
	}
	log.Debug("notify configured", "config", cfg)
	return n, nil
}

type notifier struct {
	log      *slog.Logger
	timeout  time.Duration
	channels []channel
}

func (n *notifier) Notify(ctx context.Context, b Batch) error {
	key := idempotencyKey(b.ID)
	if key == "" {
		return ErrNoBatchID
	}
	if len(b.Items) == 0 {
		return nil
	}
	if len(n.channels) == 0 {
		return ErrNoChannel
	}
	var errs []error
	for _, c := range n.channels {
		if err := n.send(ctx, c, b, key); err != nil {
			errs = append(errs, fmt.Errorf("notify: %s: %w", c.name(), err))
			continue
		}
		n.log.Info("notified of failed items", "channel", c.name(), "batch", b.ID, "items", len(b.Items))
	}
	return errors.Join(errs...)
}

func (n *notifier) send(ctx context.Context, c channel, b Batch, key string) error {
	ctx, cancel := context.WithTimeout(ctx, n.timeout)
	defer cancel()
	err := c.send(ctx, b, key)
	if err != nil && ctx.Err() != nil && !errors.Is(err, ctx.Err()) {
		// Net errors hide why the deadline came; say it.
		err = fmt.Errorf("%w: %w", ctx.Err(), err)
	}
	return err
}

// maxKeyLen bounds an idempotency key, so that the Message-ID header line
// stays inside SMTP's 998 bytes whatever the batch id (FuzzComposeEmail
// found a 978-byte id that made it 999).
const maxKeyLen = 200

// idempotencyKey is id as it goes into headers: printable ASCII without
// white space or angle brackets, so it can neither start a header nor
// break out of the Message-ID's brackets, and at most maxKeyLen bytes: a
// longer one keeps its start and ends in a hash of the whole id, so
// distinct ids keep distinct keys. Usual ids pass unchanged.
func idempotencyKey(id string) string {
	key := strings.Map(func(r rune) rune {
		if r <= ' ' || r > '~' || r == '<' || r == '>' {
			return -1
		}
		return r
	}, id)
	if len(key) > maxKeyLen {
		sum := sha256.Sum256([]byte(id))
		hash := hex.EncodeToString(sum[:16])
		key = key[:maxKeyLen-len(hash)-1] + "-" + hash
	}
	return key
}
