package client

import "github.com/ssekit/ssekit/shared/sse"

// NoticeKind is what a [Notice] reports.
type NoticeKind uint8

// The kinds of [Notice], one per Post method of [Dispatcher].
const (
	NoticeOpen  NoticeKind = NoticeKind(kindOpen)  // PostOpen
	NoticeError NoticeKind = NoticeKind(kindError) // PostError
	NoticeEnd   NoticeKind = NoticeKind(kindEnd)   // PostEnd
	NoticeEvent NoticeKind = NoticeKind(kindEvent) // PostEvent and SendEvent
	NoticeID    NoticeKind = NoticeKind(kindID)    // PostID
)

// Notice is one thing a transport posted to a [Dispatcher], as the
// dispatcher's Tap ([Options]) receives it. A dispatcher with a tap runs
// no handlers: its Run goroutine hands the tap every notice, in the order
// they were posted, with the same queue and bounds as for handlers (so a
// tap that blocks makes PostEvent refuse, and SendEvent wait, once the
// queue is full), and [Dispatcher.LastEventID] follows the events and IDs
// the tap has received. A [Group] taps the connection a tab holds for the
// others.
type Notice struct {
	Kind NoticeKind
	// Event is the event of NoticeEvent; its ID alone is the new last
	// event ID of NoticeID.
	Event sse.Event
	// Origin is the origin of NoticeEvent's stream.
	Origin string
	// Err is the error of NoticeError and NoticeEnd.
	Err error
}

// tapNotice hands n to the tap, after the bookkeeping that delivering it
// to handlers would do.
func (d *Dispatcher) tapNotice(n *notice) {
	switch n.kind {
	case kindEvent:
		d.mu.Lock()
		d.takeLocked(n)
		d.mu.Unlock()
	case kindID:
		d.mu.Lock()
		d.lastID = n.ev.ID
		d.mu.Unlock()
	case kindEnd:
		defer func() {
			d.mu.Lock()
			if !d.isEnded {
				d.isEnded = true
				close(d.ended)
			}
			d.mu.Unlock()
		}()
	}
	d.tap(Notice{Kind: NoticeKind(n.kind), Event: n.ev, Origin: n.origin, Err: n.err})
}
