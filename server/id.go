package server

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
)

// EventID is a broker-assigned event ID: an epoch, new whenever a broker's
// history starts afresh, and a sequence that grows across all of the
// broker's topics. Its text form "<epoch>-<seq>" is what clients see and send
// back as Last-Event-ID; to them it is opaque.
type EventID struct {
	Epoch string
	Seq   uint64
}

// String returns the ID's text form.
func (id EventID) String() string {
	var buf [96]byte // an epoch of up to 64 bytes, "-", 20 digits
	b, _ := id.AppendText(buf[:0])
	return string(b)
}

// AppendText appends the ID's text form to b.
func (id EventID) AppendText(b []byte) ([]byte, error) {
	b = append(b, id.Epoch...)
	b = append(b, '-')
	return strconv.AppendUint(b, id.Seq, 10), nil
}

var errMalformedID = errors.New("server: malformed event ID")

// ParseEventID parses the text form of an EventID. The epoch is one or more
// lower-case letters and digits, the sequence a decimal number.
func ParseEventID(s string) (EventID, error) {
	i := strings.LastIndexByte(s, '-')
	if i <= 0 || !validEpoch(s[:i]) {
		return EventID{}, errMalformedID
	}
	digits := s[i+1:]
	if digits == "" || digits[0] < '0' || digits[0] > '9' {
		return EventID{}, errMalformedID
	}
	seq, err := strconv.ParseUint(digits, 10, 64)
	if err != nil {
		return EventID{}, errMalformedID
	}
	return EventID{Epoch: s[:i], Seq: seq}, nil
}

func validEpoch(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9') {
			return false
		}
	}
	return true
}

// NewEpoch returns a fresh random epoch for a broker whose history starts
// now.
func NewEpoch() string {
	var b [6]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return hex.EncodeToString(b[:])
}
