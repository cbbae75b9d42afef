package client

import "strconv"

// ReadyState is the state of a connection, with the values of
// EventSource.readyState, WHATWG HTML §9.2.2
// (https://html.spec.whatwg.org/multipage/server-sent-events.html#the-eventsource-interface).
type ReadyState int32

const (
	// Connecting: the connection has not been established yet, or it was
	// lost and the source is waiting to reconnect.
	Connecting ReadyState = 0
	// Open: the response was accepted and events are being read.
	Open ReadyState = 1
	// Closed: the source was closed, or the connection failed and will not
	// be retried.
	Closed ReadyState = 2
)

// String returns "connecting", "open" or "closed", and
// "ReadyState(n)" for any other value.
func (s ReadyState) String() string {
	switch s {
	case Connecting:
		return "connecting"
	case Open:
		return "open"
	case Closed:
		return "closed"
	}
	return "ReadyState(" + strconv.Itoa(int(s)) + ")"
}
