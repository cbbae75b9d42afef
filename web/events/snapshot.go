package events

// Snapshot is the state the demo's events build, at one point of the
// stream: the latest price of each symbol, the last chat messages and who
// is online, as of the event whose ID is ID. The server answers
// GET /api/snapshot with one in JSON; a page shows it, then streams from
// ID (wasm.WithLastEventID), so that it misses nothing that came after
// the snapshot and sees nothing twice that the snapshot holds.
type Snapshot struct {
	// ID is the ID of the last event the snapshot reflects: the cursor to
	// stream from. It is the broker's position when nothing was
	// published yet.
	ID     string      `json:"id"`
	Prices []Price     `json:"prices"` // the latest tick of each symbol, by symbol
	Chat   []ChatEntry `json:"chat"`   // the last messages, oldest first
	Online []string    `json:"online"` // everyone connected, sorted
	// You is who the server takes the requester for, as it names them in
	// Online: the user query parameter, the user cookie or the guest name
	// the page chose; "" when none says.
	You string `json:"you"`
}

// ChatEntry is a chat message of a Snapshot, with the ID of its event.
type ChatEntry struct {
	ID string `json:"id"`
	ChatMessage
}
