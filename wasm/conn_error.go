//go:build js && wasm

package wasm

import "time"

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
// tells the two apart, and Status and Delay are zero.
type ConnError struct {
	// Closed is true when the source will not reconnect.
	Closed bool
	// Status is the HTTP status of a response the fetch transport refused
	// or will retry, and 0 otherwise.
	Status int
	// Reason says what happened, such as "HTTP 503 Service Unavailable"
	// or "the stream ended".
	Reason string
	// Delay is how long the fetch transport waits before its next
	// attempt; 0 for the native transport and when Closed.
	Delay time.Duration
	// Err is the JavaScript error behind a network or read failure, or
	// nil.
	Err error
}

// Error returns the reason and what the source does next, as in
//
//	wasm: HTTP 503 Service Unavailable; reconnecting in 2s
//	wasm: content type "text/html" is not text/event-stream; closed
func (e *ConnError) Error() string {
	msg := "wasm: " + e.Reason
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
