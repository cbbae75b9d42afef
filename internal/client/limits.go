package client

import "fmt"

// Limits bounds what a source keeps in memory for its handlers: the events
// queued between the JavaScript callbacks and the handlers, and, apart from
// them, the events held for handlers not registered yet (see
// [Dispatcher]). Each bound applies to each of these, and to each loop of
// [Events].
//
// The size of an event is the length of its type, ID and data. An event
// larger than Bytes is still accepted when nothing else is queued, so that
// the limit never stops a stream for good.
type Limits struct {
	// Events is the most events queued.
	Events int
	// Bytes is the most bytes of events queued.
	Bytes int
}

// DefaultLimits returns the [Limits] of a source that was given none: 4096
// events or 16 MiB.
func DefaultLimits() Limits { return Limits{Events: 4096, Bytes: 16 << 20} }

// Validate returns an error if a bound of l is not positive.
func (l Limits) Validate() error {
	switch {
	case l.Events <= 0:
		return fmt.Errorf("client: Limits.Events %d is not positive", l.Events)
	case l.Bytes <= 0:
		return fmt.Errorf("client: Limits.Bytes %d is not positive", l.Bytes)
	}
	return nil
}

// EventSize is the size of an event for [Limits]: the lengths of its type,
// ID and data.
func EventSize(typ, id, data string) int { return len(typ) + len(id) + len(data) }

// fits reports whether one more event of size n fits beside events events
// of bytes bytes.
func (l Limits) fits(events, bytes, n int) bool {
	return events == 0 || events < l.Events && bytes+n <= l.Bytes
}
