//go:build js && wasm

package wasm

import (
	"context"
	"errors"
	"time"

	"github.com/ssekit/ssekit/internal/client"
)

// ConnError reports a connection that was lost, refused or failed: what
// the native EventSource signals with an error event, with what it leaves
// out where the transport knows it. It reaches the [Source.OnError]
// handlers.
//
// Closed tells the two kinds apart. When it is false the source is
// reconnecting (ReadyState is [StateConnecting]), as after a clean end of
// the stream or a network error. When it is true the source has given up
// (ReadyState is [StateClosed]) and will never reconnect: the native
// EventSource gives up on any status but 200, on a content type other than
// text/event-stream and on a CORS refusal; the fetch transport on a 204, a
// status it does not retry (see [WithRetryStatus]), a wrong content type and
// an event over its size limit.
//
// The native error event carries no reason, so for the native transport
// Closed is read from readyState inside the event, the only way a browser
// tells the two apart, and Status, Body and Delay are zero.
//
// A source also reconnects on its own initiative, and says why in Err:
// [ErrSilent] when the connection delivered nothing for too long,
// [ErrQueueFull] when the native transport closed it because the handlers
// fell behind.
type ConnError struct {
	// Closed is true when the source will not reconnect.
	Closed bool
	// Status is the HTTP status of a response the fetch transport refused
	// or will retry, and 0 otherwise.
	Status int
	// Reason says what happened, such as "HTTP 503 Service Unavailable"
	// or "the stream ended".
	Reason string
	// Body is the reason the server gave for a refusal: the start of a
	// text/plain response body (at most 1 KiB), as an ssekit server
	// answers a request it refuses, such as "token expired". It is "" for
	// other responses and for the native transport, which cannot read it.
	Body string
	// Delay is how long the fetch transport waits before its next
	// attempt; 0 for the native transport and when Closed.
	Delay time.Duration
	// Err is the JavaScript error behind a network or read failure, or
	// nil.
	Err error
}

// Error returns the reason, the server's in brackets, and what the source
// does next, as in
//
//	wasm: HTTP 503 Service Unavailable; reconnecting in 2s
//	wasm: HTTP 401 Unauthorized (token expired); closed
//	wasm: content type "text/html" is not text/event-stream; closed
func (e *ConnError) Error() string {
	msg := "wasm: " + e.Reason
	if e.Body != "" {
		msg += " (" + e.Body + ")"
	}
	switch {
	case e.Closed:
		return msg + "; closed"
	case e.Delay > 0:
		return msg + "; reconnecting in " + e.Delay.String()
	}
	return msg + "; reconnecting"
}

// Unwrap returns Err.
func (e *ConnError) Unwrap() error { return e.Err }

var (
	// ErrSilent is the Err of the [ConnError] of a source that gave up a
	// connection on which nothing, not even a heartbeat, arrived for three
	// of the heartbeat intervals the server announced: a half-open
	// connection. The source reconnects at once.
	ErrSilent = errors.New("wasm: nothing received for three heartbeat intervals")
	// ErrQueueFull is the Err of the [ConnError] of a native source whose
	// handlers fell behind by its [Limits]: it closed its EventSource and
	// resumes from the last event it queued once they have caught up. (The
	// fetch transport stops reading instead, which costs no connection.)
	ErrQueueFull = errors.New("wasm: the handlers fell behind")
)

// UnhandledError reports the events a source held for handlers that were
// not registered in time: more of them arrived before [On] than its
// [Limits] allow. They are dropped, and so are, from then on, events that
// no handler wants as they arrive.
type UnhandledError = client.UnhandledError

type refusalKey struct{}

// Refusal returns, in the request function of [WithFetchFunc], the 401
// refusal that made the source call it again, or nil for an ordinary
// attempt: the function should renew its credentials rather than return
// the ones the server refused.
func Refusal(ctx context.Context) *ConnError {
	e, _ := ctx.Value(refusalKey{}).(*ConnError)
	return e
}
