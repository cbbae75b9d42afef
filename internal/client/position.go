package client

import "strconv"

// position is a stream position in the text form of an ssekit server's
// event IDs, "<epoch>-<seq>": an epoch of lower-case letters and digits,
// new whenever the broker's history starts afresh, and a decimal sequence
// that grows across all the topics of the broker. Every event of an ssekit
// stream carries one, and so does the hello (where the stream resumes
// from), so two positions of one epoch say which came first.
//
// IDs are opaque to EventSource; a group of tabs sharing a stream parses
// them only to order and de-duplicate what the tabs' connections deliver
// across a takeover. IDs of other servers do not parse, and are then
// compared only for equality.
type position struct {
	epoch string
	seq   uint64
}

// maxEpoch bounds an epoch's length, as the server does.
const maxEpoch = 64

// parsePosition parses id as an ssekit event ID; ok is false for any
// other string, the empty one included.
func parsePosition(id string) (p position, ok bool) {
	i := len(id) - 1
	for i >= 0 && id[i] != '-' {
		i--
	}
	if i <= 0 || i > maxEpoch || i == len(id)-1 {
		return position{}, false
	}
	for j := 0; j < i; j++ {
		if c := id[j]; !('a' <= c && c <= 'z' || '0' <= c && c <= '9') {
			return position{}, false
		}
	}
	digits := id[i+1:]
	if digits[0] < '0' || digits[0] > '9' {
		return position{}, false
	}
	seq, err := strconv.ParseUint(digits, 10, 64)
	if err != nil {
		return position{}, false
	}
	return position{epoch: id[:i], seq: seq}, true
}

// comparePositions orders the stream positions a and b: c is negative
// when a comes first, zero when they are the same, positive when b does.
// ok is false when they cannot be ordered: different epochs, or IDs that
// are not ssekit's; equal strings are always the same position.
func comparePositions(a, b string) (c int, ok bool) {
	if a == b {
		return 0, true
	}
	pa, ok := parsePosition(a)
	if !ok {
		return 0, false
	}
	pb, ok := parsePosition(b)
	if !ok || pa.epoch != pb.epoch {
		return 0, false
	}
	switch {
	case pa.seq < pb.seq:
		return -1, true
	case pa.seq > pb.seq:
		return 1, true
	}
	return 0, true // "e-01" and "e-1"
}

// atOrBefore reports whether position a is known to be at or before b.
func atOrBefore(a, b string) bool {
	c, ok := comparePositions(a, b)
	return ok && c <= 0
}
