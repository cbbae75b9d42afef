package server_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
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
