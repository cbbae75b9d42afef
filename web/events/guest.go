package events

import "strings"

// IsGuest reports whether name is a guest name, "guest-" and 6 lower-case
// hexadecimal digits: the name a page without a user picks once for its
// browser and sends as the guest query parameter of its streams, so that
// the server counts all the tabs of one browser as one person.
func IsGuest(name string) bool {
	digits, ok := strings.CutPrefix(name, "guest-")
	if !ok || len(digits) != 6 {
		return false
	}
	for i := 0; i < len(digits); i++ {
		if c := digits[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}
