package server_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"

	"github.com/ssekit/ssekit/server"
)

// An application mounts its streams outside chi's middleware.Timeout, which
// would end every stream after its timeout, and lets ConfigureHTTP set up
// the http.Server: a bound on request headers, HTTP/2's WriteByteTimeout,
// and Shutdown ending the streams first.
func ExampleServer_ConfigureHTTP() {
	broker := server.NewMemoryBroker()
	defer broker.Close()
	events := server.New(broker)

	r := chi.NewRouter()
	r.Use(middleware.RequestID, middleware.RealIP, middleware.Recoverer)
	r.Handle("/events", events) // streams: no Timeout
	r.Group(func(r chi.Router) {
		r.Use(middleware.Timeout(10 * time.Second)) // ordinary requests only
		r.Get("/api/hello", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "hello") })
	})

	hs := &http.Server{Handler: r, ReadTimeout: 30 * time.Second, WriteTimeout: 30 * time.Second}
	events.ConfigureHTTP(hs)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	go hs.Serve(ln) // or hs.ListenAndServeTLS(cert, key) for HTTP/2

	resp, err := http.Get("http://" + ln.Addr().String() + "/events?topic=news")
	if err != nil {
		panic(err)
	}
	defer resp.Body.Close()
	fmt.Println(resp.Status, hs.MaxHeaderBytes, hs.HTTP2.WriteByteTimeout)

	// One call ends the streams, then the server.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	fmt.Println(hs.Shutdown(ctx))
	// Output:
	// 200 OK 65536 10s
	// <nil>
}

// A hook refuses a stream with an AuthError: the status, the reason the
// client is shown and the headers, a 401's WWW-Authenticate challenge
// among them.
func ExampleUnauthenticated() {
	broker := server.NewMemoryBroker()
	defer broker.Close()
	events := server.New(broker, server.WithAuthorize(func(r *http.Request, topics []string) error {
		if r.Header.Get("Authorization") != "Bearer secret" {
			return server.Unauthenticated("sign in to stream", `Bearer realm="app"`)
		}
		return nil
	}))
	rec := httptest.NewRecorder()
	events.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/events?topic=news", nil))
	fmt.Println(rec.Code, rec.Header().Get("WWW-Authenticate"), strings.TrimSpace(rec.Body.String()))
	// Output:
	// 401 Bearer realm="app" sign in to stream
}

// Behind reverse proxies, every user has a proxy's address: ForwardedClient
// names the proxies whose X-Forwarded-For is trusted, so that the
// per-client cap applies per user.
func ExampleForwardedClient() {
	client := server.ForwardedClient("10.0.0.0/8")
	r := httptest.NewRequest(http.MethodGet, "/events?topic=news", nil)
	r.RemoteAddr = "10.1.2.3:4567" // the proxy
	r.Header.Set("X-Forwarded-For", "203.0.113.9")
	fmt.Println(client(r))
	r.RemoteAddr = "198.51.100.7:4567" // not a proxy: the header is anyone's
	fmt.Println(client(r))
	// Output:
	// 203.0.113.9
	// 198.51.100.7
}
