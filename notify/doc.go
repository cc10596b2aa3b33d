// Package notify tells people that items failed for good: their
// reprocessing retries reached the maximum and nothing will try them again.
//
// # Channels
//
// A Notifier made by New sends each Batch to every configured channel: one
// plain-text email over SMTP (Config.SMTPAddr) and one JSON POST to a
// webhook (Config.WebhookURL). With both configured it tries both and
// returns the failures joined, so a dead mail server does not keep the
// webhook from hearing. With neither, Notify sends nothing and returns
// ErrNoChannel: the caller (the reprocessor) keeps the items unreported and
// tells the first channel that is configured.
// Each channel gets Config.Timeout per batch, within the caller's context.
//
// # Idempotency
//
// A Batch carries an ID that the caller derives from what it notifies
// about (the reprocessor: its run), so a batch sent again after a crash
// carries the same ID. It becomes the mail's Message-ID (<ID@ration>) and
// the webhook's Idempotency-Key header and batch_id field, and receivers
// can drop the repeat. In headers the ID keeps only printable ASCII, and
// one over 200 bytes is cut and ends in a hash of the whole (so that the
// Message-ID line fits SMTP's 998 bytes). Notify itself does not retry.
//
// # Outside input
//
// Item fields come from records and error messages, not from people we
// trust, and are kept out of the mail headers: only the configured
// addresses, a count and the batch ID (stripped of control characters,
// white space and angle brackets) go there. In the body, control
// characters become spaces, so each item stays on one line, and long
// fields are cut so no line exceeds what SMTP allows. The webhook gets
// every field whole, JSON-encoded. The SMTP password is never logged:
// Config formats and logs it redacted.
package notify
