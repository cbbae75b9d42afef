//go:build js && wasm

package wasm

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ssekit/ssekit/internal/client"
	"github.com/ssekit/ssekit/shared/schema"
)

// Option configures [Open].
type Option func(*config)

// Backoff shapes the fetch transport's waits between failed attempts in a
// row; see [client.Backoff] for the formula and [DefaultBackoff].
type Backoff = client.Backoff

// DefaultBackoff returns the fetch transport's [Backoff] unless [WithBackoff]
// says otherwise: waits from 1 s doubling up to 30 s, with up to half of
// each cut at random.
func DefaultBackoff() Backoff { return client.DefaultBackoff() }

// DefaultRetry is the fetch transport's reconnection time until the server
// sends a retry field, unless [WithRetry] says otherwise.
const DefaultRetry = client.DefaultRetry

// Limits bounds what a source keeps in memory for its handlers (see
// [WithLimits]): the events queued between the browser's callbacks and the
// handlers, the events held for handlers not registered yet, and the
// values queued for each loop of [Events].
type Limits = client.Limits

// DefaultLimits returns the [Limits] of a source unless [WithLimits] says
// otherwise: 4096 events or 16 MiB.
func DefaultLimits() Limits { return client.DefaultLimits() }

// Request describes the request of the fetch transport (see [WithFetch]
// and [WithFetchFunc]). A fixed Request is sent again, body included, on
// every reconnection.
type Request struct {
	// Method is the HTTP method; "" means GET.
	Method string
	// Header holds extra request headers, such as Authorization. The
	// transport sends Accept: text/event-stream unless Header has an
	// Accept of its own, and manages Last-Event-ID: in the Request of
	// WithFetch, a Last-Event-ID is the ID the first request resumes from,
	// as [WithLastEventID] says better; later requests, and every request
	// of WithFetchFunc, send the source's last event ID. Values are sent
	// as their UTF-8 bytes.
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
	fingerprint  string   // of the WithRegistry registry
	known        []string // its event names
	fetch        *Request
	fetchFunc    func(context.Context) (Request, error)
	lastID       string
	hasLastID    bool
	limits       Limits
	backoff      Backoff
	retry        time.Duration
	retryStatus  func(status int) bool
	maxEventSize int
	shared       string   // the name of WithShared
	fetchOnly    []string // fetch-only options given, by name
	errs         []string

	// fetchStart starts the fetch transport: set by WithFetch and
	// WithFetchFunc, so that a bundle that uses neither links none of it.
	fetchStart func(s *Source, url string, cfg *config, lastID string) (transport, error)
	// sharedStart starts a shared source: set by WithShared, so that a
	// bundle that does not share links none of it.
	sharedStart func(s *Source, url string, cfg *config, lastID string) (transport, error)
}

func (c *config) invalid(format string, args ...any) {
	c.errs = append(c.errs, fmt.Sprintf(format, args...))
}

func (c *config) err() error {
	if c.fetch == nil && c.fetchFunc == nil {
		for _, name := range c.fetchOnly {
			c.invalid("%s needs WithFetch or WithFetchFunc: the native EventSource reconnects by its own rules", name)
		}
	}
	if c.fetch != nil && c.fetchFunc != nil {
		c.invalid("WithFetch and WithFetchFunc: give one")
	}
	if c.fetch != nil && c.hasLastID {
		for k, v := range c.fetch.Header {
			if strings.EqualFold(k, "Last-Event-ID") && v != c.lastID {
				c.invalid("WithLastEventID(%q) and a Last-Event-ID header %q in WithFetch: give one", c.lastID, v)
			}
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
		c.known = reg.Names()
	}
}

// WithLastEventID makes the source start from id, as if it had received
// an event with that ID: a page that loaded a snapshot of the state with
// its cursor streams from that cursor, with no gap and no duplicate.
// [Source.LastEventID] starts at id. The native transport asks for it with
// the query parameter lastEventId, which an ssekit server reads (a new
// EventSource cannot send the Last-Event-ID header); the fetch transport
// sends the Last-Event-ID header on its first request. An empty id starts
// from now, as without the option. It is an error if id contains NUL, CR
// or LF, which no event ID can (WHATWG HTML §9.2.4,
// https://html.spec.whatwg.org/multipage/server-sent-events.html#the-last-event-id-header).
func WithLastEventID(id string) Option {
	return func(c *config) {
		if strings.ContainsAny(id, "\x00\r\n") {
			c.invalid("WithLastEventID(%q): an event ID cannot contain NUL, CR or LF", id)
		}
		c.lastID, c.hasLastID = id, true
	}
}

// WithLimits replaces [DefaultLimits]: the most events, and bytes of
// events, the source queues for its handlers, holds for handlers not
// registered yet, and queues for each loop of [Events]. When the handlers
// fall that far behind, the fetch transport stops reading the stream
// until they catch up, and the native transport closes its EventSource
// and, once they have caught up, resumes from the last event it queued
// (see "Memory" in the package documentation). It is an error if a bound
// is not positive.
func WithLimits(l Limits) Option {
	return func(c *config) {
		if err := l.Validate(); err != nil {
			c.invalid("WithLimits: %s", strings.TrimPrefix(err.Error(), "client: "))
		}
		c.limits = l
	}
}

// WithFetch makes the source read the stream with fetch() instead of the
// browser's EventSource, to send req's method, headers and body. It
// follows the EventSource rules (see "The fetch transport" in the package
// documentation) and adds backoff and the retry of overloaded servers.
// The same request is sent on every reconnection: for credentials that
// expire, use [WithFetchFunc].
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
		c.fetchStart = fetchTransport
	}
}

// WithFetchFunc makes the source read the stream with fetch(), as
// [WithFetch] does, with the request fn returns: the source calls it
// before every connection attempt, on a goroutine of its own (so it may
// block, call JavaScript and await promises, such as a fetch that renews a
// token), with a context that is done when the source is closed. Use it
// for credentials that expire: a reconnection an hour later sends the
// token of the moment, not the one of Open.
//
// When the server refuses a request with 401 Unauthorized, the source
// calls fn once more at once, with a context for which [Refusal] returns
// that refusal, so that fn fetches a new token instead of returning the
// one it has, and tries again; a second 401 in a row fails the stream, as
// does a 403 Forbidden: it never goes on without the credentials the
// server asks for. The refusals reach the error handlers as [*ConnError]s
// with the server's reason.
//
// An error from fn counts as a failed attempt: it is reported, and the
// source tries again (calling fn again) after the backoff. A Request that
// fetch would reject (a GET with a body, a malformed header) fails the
// stream. The Last-Event-ID header of the returned Request is ignored: the
// source sends its own.
func WithFetchFunc(fn func(ctx context.Context) (Request, error)) Option {
	return func(c *config) {
		if fn == nil {
			c.invalid("WithFetchFunc(nil)")
			return
		}
		c.fetchFunc = fn
		c.fetchStart = fetchTransport
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

// WithShared makes the sources named name that read the same URL, in all
// the tabs of the page's origin, share one connection to the server: one
// tab holds it, elected with the Web Locks API, and relays what arrives to
// the others over a BroadcastChannel. Each source behaves as if it had
// the connection itself: its handlers get every event, in order, with the
// same IDs and [Meta], and its state, last event ID and callbacks follow
// the shared stream. When the holding tab closes, or is frozen, another
// takes over from the last event the group saw. See "One connection for
// all tabs" in the package documentation for how, and for the limits.
//
// A browser opens at most six HTTP/1.1 connections to one origin across
// all its tabs, so without sharing the seventh tab of an application that
// streams waits for a connection, and shows nothing. Where the browser
// lacks what sharing needs (the Web Locks API exists only in secure
// contexts: HTTPS, and http://localhost), the source reads the stream on a
// connection of its own, as without the option.
//
// The tab that holds the connection reads it with its own options
// (transport, request, credentials): give the sources of one name the
// same ones. It is an error if name is empty.
func WithShared(name string) Option {
	return func(c *config) {
		if name == "" {
			c.invalid("WithShared(\"\"): a name is needed")
		}
		c.shared = name
		c.sharedStart = sharedTransport
	}
}
