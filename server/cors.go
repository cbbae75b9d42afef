package server

import (
	"net/http"
	"slices"
	"time"

	"github.com/go-chi/cors"
)

// CORSOptions configure [CORS].
type CORSOptions struct {
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

// CORS returns middleware that lets pages from other origins open streams,
// built on go-chi/cors with what an event stream needs: Last-Event-ID is
// allowed in preflights (a fetch() client that sets it always triggers one),
// and credentials are only allowed with an explicit list of origins. It
// panics on options that a browser would reject: credentials with "*" or
// with no origins.
func CORS(o CORSOptions) func(http.Handler) http.Handler {
	if len(o.AllowedOrigins) == 0 {
		panic("server: CORS: no allowed origins")
	}
	if o.AllowCredentials && slices.Contains(o.AllowedOrigins, "*") {
		panic(`server: CORS: credentials need explicit origins, not "*"`)
	}
	methods := o.AllowedMethods
	if len(methods) == 0 {
		methods = []string{http.MethodGet, http.MethodPost}
	}
	maxAge := o.MaxAge
	if maxAge == 0 {
		maxAge = 10 * time.Minute
	}
	return cors.Handler(cors.Options{
		AllowedOrigins:   o.AllowedOrigins,
		AllowedMethods:   methods,
		AllowedHeaders:   append([]string{"Last-Event-ID", "Accept", "Cache-Control"}, o.AllowedHeaders...),
		AllowCredentials: o.AllowCredentials,
		MaxAge:           int(maxAge / time.Second),
	})
}
