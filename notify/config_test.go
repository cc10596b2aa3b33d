package notify_test

import (
	"bytes"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"

	"github.com/rationhq/ration/notify"
)

func TestConfigFlags(t *testing.T) {
	c := notify.DefaultConfig()
	fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
	c.Flags(fs)
	err := fs.Parse([]string{
		"--notify.smtp_addr", "mail.example.com:587",
		"--notify.smtp_from", "ration@example.com",
		"--notify.smtp_to", "a@example.com,b@example.com",
		"--notify.smtp_user", "ration",
		"--notify.smtp_password", "s3cret",
		"--notify.webhook_url", "https://hooks.example.com/ration",
		"--notify.timeout", "3s",
	})
	if err != nil {
		t.Fatal(err)
	}
	want := notify.Config{
		SMTPAddr: "mail.example.com:587", SMTPFrom: "ration@example.com",
		SMTPTo:   []string{"a@example.com", "b@example.com"},
		SMTPUser: "ration", SMTPPassword: "s3cret",
		WebhookURL: "https://hooks.example.com/ration", Timeout: 3 * time.Second,
	}
	if fmt.Sprintf("%#v", c) != fmt.Sprintf("%#v", want) || c.SMTPPassword != want.SMTPPassword {
		t.Errorf("flags gave %+v, want %+v", c, want)
	}
	if err := c.Validate(); err != nil {
		t.Error(err)
	}
	if d := notify.DefaultConfig(); d.Timeout != 10*time.Second {
		t.Errorf("default timeout %v, want 10s", d.Timeout)
	}
}

func TestConfigValidate(t *testing.T) {
	mail := notify.Config{SMTPAddr: "127.0.0.1:25", SMTPFrom: "r@example.com", SMTPTo: []string{"a@example.com"}}
	with := func(f func(*notify.Config)) notify.Config {
		c := mail
		f(&c)
		return c
	}
	valid := map[string]notify.Config{
		"nothing configured": {},
		"mail":               mail,
		"mail with auth":     with(func(c *notify.Config) { c.SMTPUser, c.SMTPPassword = "u", "p" }),
		"named sender":       with(func(c *notify.Config) { c.SMTPFrom = "Ration <r@example.com>" }),
		"http webhook":       {WebhookURL: "http://127.0.0.1:8080/hook"},
		"https webhook":      {WebhookURL: "https://hooks.example.com/x?token=t"},
	}
	for name, c := range valid {
		t.Run("accepts "+name, func(t *testing.T) {
			if err := c.Validate(); err != nil {
				t.Error(err)
			}
		})
	}
	invalid := map[string]notify.Config{
		"smtp addr without port":  with(func(c *notify.Config) { c.SMTPAddr = "mail.example.com" }),
		"smtp addr without host":  with(func(c *notify.Config) { c.SMTPAddr = ":25" }),
		"smtp without from":       with(func(c *notify.Config) { c.SMTPFrom = "" }),
		"smtp with bad from":      with(func(c *notify.Config) { c.SMTPFrom = "not an address" }),
		"smtp without to":         with(func(c *notify.Config) { c.SMTPTo = nil }),
		"smtp with bad to":        with(func(c *notify.Config) { c.SMTPTo = []string{"a@example.com", "b@"} }),
		"smtp to with crlf":       with(func(c *notify.Config) { c.SMTPTo = []string{"a@example.com\r\nBcc: x@example.com"} }),
		"to without smtp addr":    {SMTPTo: []string{"a@example.com"}},
		"password without user":   with(func(c *notify.Config) { c.SMTPPassword = "p" }),
		"webhook without scheme":  {WebhookURL: "hooks.example.com/x"},
		"webhook with ftp scheme": {WebhookURL: "ftp://hooks.example.com/x"},
		"webhook without host":    {WebhookURL: "http:///x"},
		"webhook unparsable":      {WebhookURL: "http://[::1"},
		"negative timeout":        {Timeout: -time.Second},
	}
	for name, c := range invalid {
		t.Run("rejects "+name, func(t *testing.T) {
			if err := c.Validate(); err == nil {
				t.Error("accepted")
			}
			if _, err := notify.New(c, nil); err == nil {
				t.Error("New accepted")
			}
		})
	}
}

func TestConfigRedactsSecrets(t *testing.T) {
	c := notify.Config{SMTPAddr: "127.0.0.1:25", SMTPUser: "u", SMTPPassword: "hunter2-password",
		WebhookURL: "https://hooks.example.com/services/T0/B0/hook-secret?token=query-secret"}
	secrets := []string{c.SMTPPassword, "hook-secret", "query-secret"}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q"} {
		for _, secret := range secrets {
			if s := fmt.Sprintf(verb, c); strings.Contains(s, secret) {
				t.Errorf("%s shows %s: %s", verb, secret, s)
			}
		}
	}
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("cfg", "config", c)
	slog.New(slog.NewTextHandler(&buf, nil)).Info("cfg", "config", c, "ptr", &c)
	for _, secret := range secrets {
		if strings.Contains(buf.String(), secret) {
			t.Errorf("log shows %s: %s", secret, buf.String())
		}
	}
	if !strings.Contains(buf.String(), "https://hooks.example.com/REDACTED") {
		t.Errorf("log does not say where the webhook goes: %s", buf.String())
	}
	if !strings.Contains(buf.String(), "REDACTED") {
		t.Errorf("log does not show that a password is set: %s", buf.String())
	}
}
