package main

import (
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/maxence-charriere/go-app/v10/pkg/app"
	"github.com/ssekit/ssekit/examples/goapp/events"
	"github.com/ssekit/ssekit/examples/goapp/live"
	"github.com/ssekit/ssekit/examples/goapp/ui"
	"github.com/ssekit/ssekit/server"
)

// static holds the page's icon and stylesheet, served as /static/.
//
//go:embed static
var static embed.FS

// DefaultInterval is the time between two ticks of the counter.
const DefaultInterval = 500 * time.Millisecond

// Main is the example's server: go-app's app.Handler for the pages and the
// WebAssembly app, and an ssekit stream on /events. Set its fields, then
// call Run, and Close when done; the end-to-end test runs it in-process.
type Main struct {
	Addr     string        // address to listen on; "127.0.0.1:0" picks a port
	WebDir   string        // directory holding app.wasm, served as /web/
	Interval time.Duration // time between two ticks; 0 means DefaultInterval
	Logger   *slog.Logger  // nil discards the logs

	// Broker carries the counter's events; Events streams them on /events.
	// Run sets both.
	Broker *server.MemoryBroker
	Events *server.Server

	ln     net.Listener
	http   *http.Server
	cancel context.CancelFunc
	ticker sync.WaitGroup
	served chan error
}

// Run starts the server and returns once it is listening; it goes on in
// the background until ctx is done or Close is called.
func (m *Main) Run(ctx context.Context) error {
	if m.Logger == nil {
		m.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if m.Interval <= 0 {
		m.Interval = DefaultInterval
	}
	bundle, err := os.ReadFile(filepath.Join(m.WebDir, "app.wasm"))
	if err != nil {
		return fmt.Errorf("%w; build it with: GOOS=js GOARCH=wasm go build -o %s ./app", err, filepath.Join(m.WebDir, "app.wasm"))
	}
	// go-app's service worker updates the app when the version changes:
	// with the bundle's hash, whenever the bundle does, and only then.
	version := sha256.Sum256(bundle)

	m.Broker = server.NewMemoryBroker()
	m.Events = server.New(m.Broker,
		server.WithRegistry(events.Registry),
		server.WithAllowedTopics(events.TopicCounter),
		server.WithLogger(m.Logger),
	)

	// app.Handler renders the pages it knows in advance, so it must know
	// the same routes as the app.
	ui.Routes()
	mux := http.NewServeMux()
	mux.Handle("/events", m.Events)
	mux.Handle("/static/", http.FileServerFS(static))
	mux.Handle("/", &app.Handler{
		Name:        "ssekit + go-app",
		Version:     hex.EncodeToString(version[:8]),
		Title:       "ssekit in a go-app front end",
		Description: "A live counter streamed with typed Server-Sent Events",
		Icon:        app.Icon{Default: "/static/icon.svg", SVG: "/static/icon.svg"},
		Styles:      []string{"/static/example.css"},
		// go-app's service worker would take over the event stream and
		// lose what a reconnecting page missed (see live.ServiceWorker).
		ServiceWorkerTemplate: live.ServiceWorker(),
		Resources:             webDir{http.StripPrefix("/web", http.FileServer(http.Dir(m.WebDir)))},
	})

	ln, err := net.Listen("tcp", m.Addr)
	if err != nil {
		m.Broker.Close()
		return err
	}
	m.ln = ln
	m.http = &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		MaxHeaderBytes:    64 << 10,
	}
	m.served = make(chan error, 1)
	go func() { m.served <- m.http.Serve(ln) }()

	ctx, m.cancel = context.WithCancel(ctx)
	m.ticker.Add(1)
	go m.tick(ctx)
	return nil
}

// URL returns the server's base URL, such as http://127.0.0.1:8080.
func (m *Main) URL() string { return "http://" + m.ln.Addr().String() }

// tick publishes the counter once per Interval until ctx is done.
func (m *Main) tick(ctx context.Context) {
	defer m.ticker.Done()
	t := time.NewTicker(m.Interval)
	defer t.Stop()
	var n int64
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			n++
			if _, err := server.Publish(ctx, m.Broker, events.TopicCounter, events.Tick, events.Count{N: n, Time: now}); err != nil {
				if !errors.Is(err, context.Canceled) {
					m.Logger.Error("publishing the counter", "err", err)
				}
				return
			}
		}
	}
}

// Close stops the counter, ends the streams (their browsers reconnect to
// whatever serves next), then the HTTP server.
func (m *Main) Close() error {
	m.cancel()
	m.ticker.Wait()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := m.Events.Shutdown(ctx)
	err = errors.Join(err, m.http.Shutdown(ctx))
	if serr := <-m.served; !errors.Is(serr, http.ErrServerClosed) {
		err = errors.Join(err, serr)
	}
	m.Broker.Close()
	return err
}

// webDir is where go-app finds the static resources of the page, /web/...:
// here only app.wasm. app.LocalDir("") would serve ./web;
// this serves any directory at the same URLs (app.LocalDir of another
// directory changes the URLs too).
type webDir struct{ http.Handler }

func (webDir) Resolve(location string) string { return app.LocalDir("").Resolve(location) }
