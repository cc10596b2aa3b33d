// Package registrar registers receipts with the outside services the
// receipts pipeline reports to, a tax office and a logistics service: the
// Client the pipeline's stages call, and a Simulator of each service that
// `ration sim tax` and `ration sim logistics` serve. It depends on package
// processor only, for the transient and permanent error classes.
//
// # The contract
//
// Both services speak one HTTP contract; a real service must speak it too.
//
//	POST /v1/registrations
//	Content-Type: application/json
//	Idempotency-Key: <key>
//
//	{"receipt_id": "R-1", "client": "acme", "total": 4.7,
//	 "currency": "EUR", "issued_at": "2025-03-01T10:00:00Z"}
//
// The key is 1 to 200 printable ASCII characters (space to tilde), and
// does not begin or end with a space, since HTTP drops those. The body is
// one JSON object of at most 64 KiB with at least these fields: receipt_id,
// client and currency non-empty strings, total a number, issued_at an
// RFC 3339 time. Other fields are allowed and ignored.
//
//	201 {"registration_number": "TAX-…"}   registered, the first call with the key
//	200 {"registration_number": "TAX-…"}   the same key and body again: nothing new happened
//	400 {"error": "…", "code": "bad_request"}   no key or a bad one, another content type, a body not such an object
//	413 {"error": "…", "code": "bad_request"}   a body over 64 KiB
//	422 {"error": "…", "code": "key_reused"}    the key was registered with another body
//	422 {"error": "refused: …", "code": "refused"}  the service refuses the receipt for good
//	503 {"error": "…", "code": "unavailable"}   a transient failure: try again with the same key
//
// Every answer but 201 and 200 is made without an effect, except that a
// 503 may also be a reply lost after the registration was made (see
// Faults): that is why a caller retries with the same key, and why a
// retry then gets 200 and the number of the first call. A 4xx is final;
// a 5xx or 429 is worth retrying.
//
// # Keys and numbers
//
// A registration is identified by its key alone: the same key with the
// same body (the same JSON value, whatever the order of its fields or its
// white space) is the same registration. The registration number is
// derived from the service's name and the key (Service.Number), so a
// restarted simulator gives every key the number it gave before.
//
// # The simulator
//
// A Simulator keeps its registrations in memory and fails on purpose as
// its Faults say: a latency per call, an outage, a share of calls failing
// with 503 before anything happens, a share of successful calls whose
// reply is lost (503 after the registration), and a share of receipts
// refused for good, chosen by the key so that a refused receipt is
// refused again. Its admin endpoints read and change the faults and count
// what it did:
//
//	GET /admin/faults   {"error_rate": 0, "lost_reply_rate": 0, "refuse_rate": 0, "latency_ms": 0, "down_until": "…"}
//	PUT /admin/faults   any of {"error_rate": 0..1, "lost_reply_rate": 0..1, "refuse_rate": 0..1,
//	                            "down_for_seconds": N, "latency_ms": N}; 0 s ends an outage
//	GET /admin/stats    {"requests": N, "registrations": M}
//	GET /healthz        200
//
// requests counts every POST received, registrations the distinct keys
// registered.
package registrar
