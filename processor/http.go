package processor

import (
	"net/http"
	"time"
)

// idleConns is how many idle connections to a host an HTTPClient keeps:
// more than a worker's stage calls at once (its Concurrency, 16 by
// default). Go's default of 2 had the stages dial a connection for most
// calls and close it after: at 1 000 receipts/s a twentieth of a stack's
// CPU went to dialling.
const idleConns = 64

// HTTPClient returns a client for a stage's calls to an outside service
// (a checker, a tax office), giving up on a call after timeout (0: the
// caller bounds each call).
func HTTPClient(timeout time.Duration) *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = idleConns
	return &http.Client{Timeout: timeout, Transport: t}
}
