package client

// Refresh is the fetch transport's rule for a refused request. A 401
// (Unauthorized) may mean only that a token expired: when the application
// computes each request itself (a request function), the transport asks it
// for a new request once and tries again at once. A second 401 in a row,
// a 403 (Forbidden), or a 401 with a fixed request, fails the stream for
// good: it never goes on without the credentials the server wants, and
// never retries them in a loop.
//
// The zero Refresh is ready. It is not safe for concurrent use; the
// goroutine that runs the connection owns it.
type Refresh struct {
	used bool // a new request was computed after a 401, and not accepted yet
}

// Accepted records an accepted response: the next 401 may be refreshed.
func (r *Refresh) Accepted() { r.used = false }

// Refused reports whether a refusal with status is worth one more attempt,
// at once, with a request computed anew. fresh says whether the next
// request will be computed anew (the application gave a request function).
func (r *Refresh) Refused(status int, fresh bool) bool {
	if status != 401 || !fresh || r.used {
		return false
	}
	r.used = true
	return true
}
