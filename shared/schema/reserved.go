package schema

// ReservedPrefix starts the name of every event ssekit itself sends. [Define]
// refuses such names, so an application event can never be mistaken for one.
const ReservedPrefix = "ssekit."

// Reserved event names. The server sends them with the [JSON] codec; the
// client handles them before any application event.
const (
	// HelloEvent is the first event on every connection. Its data is a
	// [Hello].
	HelloEvent = ReservedPrefix + "hello"
	// ResetEvent tells the client that the server could not resume from its
	// Last-Event-ID, so events may have been missed and the client should
	// resync its state. Its data is a [Reset]. The stream goes live after it.
	ResetEvent = ReservedPrefix + "reset"
	// HeartbeatEvent is a heartbeat sent as an event, with empty data and
	// no id, to a client that asks for it (the "heartbeat=event" query
	// parameter): the browser's EventSource hides the comments that are
	// the usual heartbeat, and a client that watches for a silent stream
	// must see something.
	HeartbeatEvent = ReservedPrefix + "heartbeat"
)

// Hello is the data of a [HelloEvent].
type Hello struct {
	// Fingerprint is the server's [Registry.Fingerprint]. A client whose
	// own registry has another fingerprint was built from other event
	// definitions (typically a stale bundle after a deploy).
	Fingerprint string `json:"fingerprint"`
	// Events lists the server's event names, sorted, when it chooses to
	// send them; a client may use them to say which events differ.
	Events []string `json:"events,omitempty"`
	// Heartbeat is the server's heartbeat interval in milliseconds, 0 when
	// it sends none: a client that has received nothing, not even a
	// heartbeat, for a few intervals may take the connection for dead and
	// reconnect.
	Heartbeat int64 `json:"heartbeat,omitempty"`
}

// Reset is the data of a [ResetEvent].
type Reset struct {
	// Reason is one of the Reset* constants. Clients must accept reasons
	// they do not know and treat them as a reset all the same.
	Reason string `json:"reason"`
}

// Reasons for a [Reset].
const (
	// ResetEpoch: the Last-Event-ID is from another epoch; the broker's
	// history started afresh since (a restart, a recreated stream).
	ResetEpoch = "epoch"
	// ResetMalformed: the Last-Event-ID is not an ID this server writes.
	ResetMalformed = "malformed"
	// ResetTooLong: the Last-Event-ID is longer than the server accepts; it
	// was not parsed.
	ResetTooLong = "too-long"
	// ResetExpired: the Last-Event-ID is older than the retained history
	// of at least one of the connection's topics.
	ResetExpired = "expired"
	// ResetUnknown: the Last-Event-ID is ahead of any ID the broker has
	// assigned.
	ResetUnknown = "unknown"
)

// The reserved events' definitions: the server encodes with them and
// clients decode with them, so both sides agree on the wire. They are
// returned by functions, not held in variables an application could
// reassign.
var (
	helloDef = Event[Hello]{name: HelloEvent, codec: JSON{}}
	resetDef = Event[Reset]{name: ResetEvent, codec: JSON{}}
)

// HelloDefinition returns the definition of [HelloEvent], whose data is a
// [Hello].
func HelloDefinition() Event[Hello] { return helloDef }

// ResetDefinition returns the definition of [ResetEvent], whose data is a
// [Reset].
func ResetDefinition() Event[Reset] { return resetDef }
