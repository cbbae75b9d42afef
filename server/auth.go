package server

import (
	"errors"
	"net/http"
	"strings"
)

// ErrUnauthenticated, wrapped in an [AuthorizeFunc]'s error, makes the
// response 401 instead of 403.
var ErrUnauthenticated = errors.New("server: unauthenticated")

// AuthError is an error an [AuthorizeFunc] returns to refuse a stream with a
// status, the reason shown to the client, and response headers, such as a
// 401's WWW-Authenticate challenge. [Unauthenticated] and [Forbidden] make
// the usual two.
type AuthError struct {
	// Status is the response's status, from 400 to 599; 0 means 403, or
	// 401 when Err wraps ErrUnauthenticated.
	Status int
	// Reason is the plain-text body the client is shown; "" means the
	// status text. Keep secrets out of it.
	Reason string
	// Header holds headers for the response. A 401 without
	// WWW-Authenticate gets "WWW-Authenticate: Bearer".
	Header http.Header
	// Err is the cause, for the server's log; it is never shown.
	Err error
}

func (e *AuthError) Error() string {
	msg := "server: stream refused: " + http.StatusText(e.status())
	if e.Reason != "" {
		msg += ": " + e.Reason
	}
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

func (e *AuthError) Unwrap() error { return e.Err }

func (e *AuthError) status() int {
	switch {
	case e.Status >= 400 && e.Status <= 599:
		return e.Status
	case errors.Is(e.Err, ErrUnauthenticated):
		return http.StatusUnauthorized
	}
	return http.StatusForbidden
}

// Unauthenticated returns an [AuthError] for a client that did not prove
// who it is: 401, with reason and challenge as WWW-Authenticate, such as
// `Bearer realm="app", error="invalid_token"` (RFC 6750).
func Unauthenticated(reason, challenge string) *AuthError {
	e := &AuthError{Status: http.StatusUnauthorized, Reason: reason, Err: ErrUnauthenticated}
	if challenge != "" {
		e.Header = http.Header{"Www-Authenticate": {challenge}}
	}
	return e
}

// Forbidden returns an [AuthError] for a client that may not read the
// topics it asked for: 403 with reason.
func Forbidden(reason string) *AuthError {
	return &AuthError{Status: http.StatusForbidden, Reason: reason}
}

// refuseAuth answers a refusal of the authorization hook. An error that is
// not an AuthError is shown as it is: 401 when it wraps ErrUnauthenticated,
// else 403.
func (s *Server) refuseAuth(w http.ResponseWriter, r *http.Request, err error) {
	var ae *AuthError
	if !errors.As(err, &ae) {
		// fmt.Errorf("no token: %w", ErrUnauthenticated) shows "no token".
		reason := strings.TrimSuffix(err.Error(), ": "+ErrUnauthenticated.Error())
		ae = &AuthError{Reason: reason, Err: err}
	}
	status := ae.status()
	for k, v := range ae.Header {
		w.Header()[http.CanonicalHeaderKey(k)] = v
	}
	if status == http.StatusUnauthorized && w.Header().Get("WWW-Authenticate") == "" {
		w.Header().Set("WWW-Authenticate", "Bearer")
	}
	reason := ae.Reason
	if reason == "" {
		reason = http.StatusText(status)
	}
	if ae.Err != nil {
		s.cfg.logger.Debug("ssekit: authorization refused", "remote", r.RemoteAddr, "status", status, "err", ae.Err)
	}
	s.refuse(w, r, status, reason)
}
