package client

import "fmt"

// GroupDebug describes a member's state, for the tests' failure messages.
func GroupDebug(g *Group) string {
	return fmt.Sprintf("mode %d term %v next %d pos %q overlap %v held %d lock %d holding %v", g.mode, g.term, g.next, g.pos, g.overlap, len(g.held), g.lock, g.h != nil)
}
