package notify

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/mail"
	"net/url"
	"time"

	"github.com/spf13/pflag"

	"github.com/rationhq/ration/internal/cliconfig"
)

// DefaultTimeout bounds one channel's delivery of one batch.
const DefaultTimeout = 10 * time.Second

// Config says whom to tell. Empty SMTPAddr and WebhookURL mean nobody: the
// Notifier then answers every batch with ErrNoChannel.
type Config struct {
	// SMTPAddr is the mail server, host:port. The connection is upgraded
	// with STARTTLS when the server offers it.
	SMTPAddr string
	// SMTPFrom is the sender address. Required with SMTPAddr.
	SMTPFrom string
	// SMTPTo lists the recipients. At least one is required with SMTPAddr.
	SMTPTo []string
	// SMTPUser turns on PLAIN authentication. net/smtp sends the
	// credentials only over TLS or to a loopback server.
	SMTPUser string
	// SMTPPassword goes with SMTPUser. It is never logged or formatted.
	SMTPPassword string
	// WebhookURL receives one JSON POST per batch; http or https.
	WebhookURL string
	// Timeout bounds each channel's delivery of a batch. Default 10 s.
	Timeout time.Duration
}

// DefaultConfig returns the defaults, for binding flags.
func DefaultConfig() Config {
	var c Config
	c.setDefaults()
	return c
}

func (c *Config) setDefaults() {
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
}

// Flags binds c to notify.smtp_addr, notify.smtp_from, notify.smtp_to,
// notify.smtp_user, notify.smtp_password, notify.webhook_url and
// notify.timeout, with c's values as defaults.
func (c *Config) Flags(fs *pflag.FlagSet) {
	fs.StringVar(&c.SMTPAddr, "notify.smtp_addr", c.SMTPAddr, "mail server for failed-item notifications, host:port (empty: no email)")
	fs.StringVar(&c.SMTPFrom, "notify.smtp_from", c.SMTPFrom, "sender address of notification mails")
	fs.StringSliceVar(&c.SMTPTo, "notify.smtp_to", c.SMTPTo, "recipients of notification mails")
	fs.StringVar(&c.SMTPUser, "notify.smtp_user", c.SMTPUser, "SMTP user for PLAIN auth (empty: no auth)")
	fs.StringVar(&c.SMTPPassword, "notify.smtp_password", c.SMTPPassword, "SMTP password (prefer the config file or environment to the command line)")
	fs.StringVar(&c.WebhookURL, "notify.webhook_url", c.WebhookURL, "http(s) URL that receives failed-item notifications as JSON (empty: no webhook)")
	cliconfig.DurationVar(fs, &c.Timeout, "notify.timeout", c.Timeout, "time limit of one notification per channel")
}

// Validate reports a config that cannot work. Zero Timeout means the
// default.
func (c Config) Validate() error {
	var errs []error
	if c.SMTPAddr != "" {
		if host, port, err := net.SplitHostPort(c.SMTPAddr); err != nil || host == "" || port == "" {
			errs = append(errs, fmt.Errorf("notify.smtp_addr %q is not host:port", c.SMTPAddr))
		}
		if c.SMTPFrom == "" {
			errs = append(errs, errors.New("notify.smtp_from is required with notify.smtp_addr"))
		} else if _, err := mail.ParseAddress(c.SMTPFrom); err != nil {
			errs = append(errs, fmt.Errorf("notify.smtp_from: %w", err))
		}
		if len(c.SMTPTo) == 0 {
			errs = append(errs, errors.New("notify.smtp_to needs a recipient with notify.smtp_addr"))
		}
		for _, to := range c.SMTPTo {
			if _, err := mail.ParseAddress(to); err != nil {
				errs = append(errs, fmt.Errorf("notify.smtp_to %q: %w", to, err))
			}
		}
	} else if c.SMTPFrom != "" || len(c.SMTPTo) > 0 || c.SMTPUser != "" {
		// Mail settings without a server would silently send nothing.
		errs = append(errs, errors.New("notify.smtp_from, notify.smtp_to and notify.smtp_user need notify.smtp_addr"))
	}
	if c.SMTPPassword != "" && c.SMTPUser == "" {
		errs = append(errs, errors.New("notify.smtp_password needs notify.smtp_user"))
	}
	if c.WebhookURL != "" {
		u, err := url.Parse(c.WebhookURL)
		switch {
		case err != nil:
			// url.Error quotes the URL, which may hold a token.
			errs = append(errs, errors.New("notify.webhook_url does not parse as a URL"))
		case u.Scheme != "http" && u.Scheme != "https":
			errs = append(errs, fmt.Errorf("notify.webhook_url scheme %q is not http or https", u.Scheme))
		case u.Host == "":
			errs = append(errs, errors.New("notify.webhook_url has no host"))
		}
	}
	if c.Timeout < 0 {
		errs = append(errs, fmt.Errorf("notify.timeout %v < 0", c.Timeout))
	}
	return errors.Join(errs...)
}

// redacted is Config without its methods, so formatting it does not
// recurse.
type redacted Config

func (c Config) redacted() redacted {
	r := redacted(c)
	if r.SMTPPassword != "" {
		r.SMTPPassword = "REDACTED"
	}
	if r.WebhookURL != "" {
		r.WebhookURL = redactURL(r.WebhookURL)
	}
	return r
}

// Format prints c with the password and the webhook's path redacted, for
// every verb.
func (c Config) Format(f fmt.State, verb rune) {
	fmt.Fprintf(f, fmt.FormatString(f, verb), c.redacted())
}

// LogValue logs c with the password and the webhook's path redacted.
func (c Config) LogValue() slog.Value {
	r := c.redacted()
	return slog.GroupValue(
		slog.String("smtp_addr", r.SMTPAddr),
		slog.String("smtp_from", r.SMTPFrom),
		slog.Any("smtp_to", r.SMTPTo),
		slog.String("smtp_user", r.SMTPUser),
		slog.String("smtp_password", r.SMTPPassword),
		slog.String("webhook_url", r.WebhookURL),
		slog.Duration("timeout", r.Timeout),
	)
}
