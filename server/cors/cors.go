// Package cors is middleware that lets pages of other origins open
// ssekit streams, built on github.com/go-chi/cors with what an event
// stream needs. It is a package of its own so that package server needs
// nothing outside the standard library.
//
//	r.With(cors.Handler(cors.Options{
//		AllowedOrigins:   []string{"https://app.example.com"},
//		AllowCredentials: true,
//	})).Handle("/events", events)
package cors

import (
	"net/http"
	"slices"
	"time"

	chicors "github.com/go-chi/cors"
)

// Options configure [Handler].
type Options struct {
	// AllowedOrigins lists the page origins that may open streams, such as
	// "https://app.example.com". "*" allows any origin, and only without
	// credentials.
	AllowedOrigins []string
	// AllowCredentials lets pages send cookies (EventSource's
	// withCredentials, fetch's credentials: "include").
	AllowCredentials bool
	// AllowedHeaders are request headers a fetch()-based client may send
	// besides Last-Event-ID, which is always allowed, such as
	// "Authorization" and "Content-Type".
	AllowedHeaders []string
	// Methods allowed; default GET, plus POST when a fetch client posts.
	AllowedMethods []string
	// MaxAge caches a preflight answer; default 10 minutes.
	MaxAge time.Duration
}

// Handler returns middleware that lets pages from other origins open streams,
// built on go-chi/cors with what an event stream needs: Last-Event-ID is
// allowed in preflights (a fetch() client that sets it always triggers one),
// and credentials are only allowed with an explicit list of origins. It
// panics on options that a browser would reject: credentials with "*" or
// with no origins.
func Handler(o Options) func(http.Handler) http.Handler {
	if len(o.AllowedOrigins) == 0 {
		panic("cors: Handler: no allowed origins")
	}
	if o.AllowCredentials && slices.Contains(o.AllowedOrigins, "*") {
		panic(`cors: Handler: credentials need explicit origins, not "*"`)
	}
	methods := o.AllowedMethods
	if len(methods) == 0 {
		methods = []string{http.MethodGet, http.MethodPost}
	}
	maxAge := o.MaxAge
	if maxAge == 0 {
		maxAge = 10 * time.Minute
	}
	return chicors.Handler(chicors.Options{
		AllowedOrigins:   o.AllowedOrigins,
		AllowedMethods:   methods,
		AllowedHeaders:   append([]string{"Last-Event-ID", "Accept", "Cache-Control"}, o.AllowedHeaders...),
		AllowCredentials: o.AllowCredentials,
		MaxAge:           int(maxAge / time.Second),
	})
}
