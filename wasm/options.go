//go:build js && wasm

package wasm

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ssekit/ssekit/shared/client"
	"github.com/ssekit/ssekit/shared/schema"
)

// Option configures [Open].
type Option func(*config)

// Backoff shapes the fetch transport's waits between failed attempts in a
// row; see [client.Backoff] for the formula and [DefaultBackoff].
type Backoff = client.Backoff

// DefaultBackoff is the fetch transport's [Backoff] unless [WithBackoff]
// says otherwise: waits from 1 s doubling up to 30 s, with up to half of
// each cut at random.
var DefaultBackoff = client.DefaultBackoff

// DefaultRetry is the fetch transport's reconnection time until the server
// sends a retry field, unless [WithRetry] says otherwise.
const DefaultRetry = client.DefaultRetry

// Request describes the request of the fetch transport (see [WithFetch]).
// It is sent again, body included, on every reconnection.
type Request struct {
	// Method is the HTTP method; "" means GET.
	Method string
	// Header holds extra request headers, such as Authorization. The
	// transport sends Accept: text/event-stream unless Header has an
	// Accept of its own, and manages Last-Event-ID: a Last-Event-ID in
	// Header is the ID the first request resumes from, and later requests
	// send the source's last event ID. Values are sent as their UTF-8
	// bytes.
	Header map[string]string
	// Body is the request body, for a method that has one. Set its
	// Content-Type in Header.
	Body []byte
	// Credentials is fetch's credentials mode: "omit", "same-origin" or
	// "include". "" means "include" with [WithCredentials] and
	// "same-origin" without, as the native EventSource sends cookies (WPT
	// eventsource/request-credentials).
	Credentials string
}

type config struct {
	credentials  bool
	fingerprint  string // of the WithRegistry registry
	fetch        *Request
	backoff      Backoff
	retry        time.Duration
	retryStatus  func(status int) bool
	maxEventSize int
	fetchOnly    []string // fetch-only options given, by name
	errs         []string
}

func (c *config) invalid(format string, args ...any) {
	c.errs = append(c.errs, fmt.Sprintf(format, args...))
}

func (c *config) err() error {
	if c.fetch == nil {
		for _, name := range c.fetchOnly {
			c.invalid("%s needs WithFetch: the native EventSource reconnects by its own rules", name)
		}
	}
	if len(c.errs) == 0 {
		return nil
	}
	return errors.New("wasm: " + strings.Join(c.errs, "; "))
}

// WithCredentials sends cookies and HTTP authentication with a cross-origin
// request: EventSource's withCredentials, or fetch's credentials "include"
// (WPT eventsource/request-credentials). The server must answer with the
// matching CORS headers.
func WithCredentials() Option {
	return func(c *config) { c.credentials = true }
}

// WithRegistry gives the registry the page was built with. On every
// connection the source compares the fingerprint in the server's
// ssekit.hello event with reg's and reports a difference to
// [Source.OnSchemaMismatch]. Without a registry nothing is compared.
func WithRegistry(reg *schema.Registry) Option {
	return func(c *config) {
		if reg == nil {
			c.invalid("WithRegistry(nil)")
			return
		}
		// Only a bundle that calls WithRegistry links the fingerprint's
		// hashing.
		c.fingerprint = reg.Fingerprint()
	}
}

// WithFetch makes the source read the stream with fetch() instead of the
// browser's EventSource, to send req's method, headers and body. It
// follows the EventSource rules (see "The fetch transport" in the package
// documentation) and adds backoff and the retry of overloaded servers.
func WithFetch(req Request) Option {
	return func(c *config) {
		r := req
		r.Header = make(map[string]string, len(req.Header))
		for k, v := range req.Header {
			r.Header[k] = v
		}
		r.Body = append([]byte(nil), req.Body...)
		switch r.Credentials {
		case "", "omit", "same-origin", "include":
		default:
			c.invalid("WithFetch: Credentials %q is not omit, same-origin or include", r.Credentials)
		}
		c.fetch = &r
	}
}

// WithBackoff replaces [DefaultBackoff] (fetch transport only). It is an
// error if b is not valid (see [client.Backoff.Validate]).
func WithBackoff(b Backoff) Option {
	return func(c *config) {
		c.fetchOnly = append(c.fetchOnly, "WithBackoff")
		if err := b.Validate(); err != nil {
			c.invalid("WithBackoff: %s", strings.TrimPrefix(err.Error(), "client: "))
		}
		c.backoff = b
	}
}

// WithRetry sets the reconnection time until the server sends a retry field
// (fetch transport only; default [DefaultRetry]). The native EventSource
// uses the browser's own, 3 s in Chromium.
func WithRetry(d time.Duration) Option {
	return func(c *config) {
		c.fetchOnly = append(c.fetchOnly, "WithRetry")
		if d < 0 {
			c.invalid("WithRetry(%v): negative", d)
		}
		c.retry = d
	}
}

// WithRetryStatus decides which HTTP statuses the fetch transport retries
// with backoff instead of failing (fetch transport only). The default,
// [client.RetryStatus], retries 429 and every 5xx; 200 and 204 are never
// asked about. Return false for everything to fail as the native
// EventSource does.
func WithRetryStatus(retry func(status int) bool) Option {
	return func(c *config) {
		c.fetchOnly = append(c.fetchOnly, "WithRetryStatus")
		if retry == nil {
			c.invalid("WithRetryStatus(nil)")
		}
		c.retryStatus = retry
	}
}

// WithMaxEventSize sets the largest event, and the longest line, the fetch
// transport accepts (default [sse.DefaultMaxEventSize], 1 MiB). A larger
// event fails the connection: resuming would only read it again.
func WithMaxEventSize(n int) Option {
	return func(c *config) {
		c.fetchOnly = append(c.fetchOnly, "WithMaxEventSize")
		if n <= 0 {
			c.invalid("WithMaxEventSize(%d): not positive", n)
		}
		c.maxEventSize = n
	}
}
