// Package demo is the wiring of the ssekit demo, "live market and chat": a
// chi router with the SSE endpoint, a price ticker, a chat API with
// presence, metrics and the embedded page. The ssekit-demo command runs it;
// end-to-end tests start the same [Main] in-process on 127.0.0.1:0.
package demo

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/ssekit/ssekit/server"
	"github.com/ssekit/ssekit/server/cors"
	"github.com/ssekit/ssekit/server/metrics"
	"github.com/ssekit/ssekit/shared/schema"
	"github.com/ssekit/ssekit/web"
	"github.com/ssekit/ssekit/web/events"
)

// Main is the demo server. Set its fields, call Run, and Close when done.
type Main struct {
	Addr           string           // listen address; default 127.0.0.1:8080
	Listener       net.Listener     // when set, Run serves on it and ignores Addr; Close closes it
	RetainEvents   int              // events kept per topic for replay; default server.DefaultRetainEvents
	RetainAge      time.Duration    // how long events are kept; default server.DefaultRetainAge
	Tick           time.Duration    // price tick interval; default 250ms; negative: no ticker
	Token          string           // bearer token of /private/events; default "demo"; see SetToken
	AllowedOrigins []string         // page origins allowed to stream cross-origin, with credentials
	Assets         fs.FS            // the page; default web.Assets()
	Broker         server.Broker    // default a memory broker; Close closes it
	Registry       *schema.Registry // the events the hello announces; default events.Registry
	NATSURL        string           // use NATS JetStream at this URL instead of the memory broker
	NATSDir        string           // start an embedded JetStream server storing in this directory
	Logger         *slog.Logger     // default slog.Default()

	broker   server.Broker
	srv      *server.Server
	private  *server.Server
	http     *http.Server
	ln       net.Listener
	presence *presence
	view     *view
	posts    *posts
	token    atomic.Pointer[string]
	stopNATS func()
	cancel   context.CancelFunc
	wg       sync.WaitGroup
}

// Run starts the server and the ticker, and returns once it is listening;
// they run until Close or until ctx ends.
func (m *Main) Run(ctx context.Context) error {
	if m.Addr == "" {
		m.Addr = "127.0.0.1:8080"
	}
	m.SetToken(m.Token)
	if m.Tick == 0 {
		m.Tick = 250 * time.Millisecond
	}
	if m.Assets == nil {
		m.Assets = web.Assets()
	}
	if m.Registry == nil {
		m.Registry = events.Registry
	}
	if m.Logger == nil {
		m.Logger = slog.Default()
	}
	m.broker = m.Broker
	switch {
	case m.broker != nil:
	case m.NATSURL != "" || m.NATSDir != "":
		b, stop, err := m.natsBroker()
		if err != nil {
			return err
		}
		m.broker, m.stopNATS = b, stop
	default:
		m.broker = server.NewMemoryBroker(server.WithRetention(m.RetainEvents, m.RetainAge))
	}
	m.presence = newPresence(m.broker, m.Logger)
	m.posts = newPosts()
	ctx, cancel := context.WithCancel(ctx)
	view, viewSub, err := newView(ctx, m.broker, m.Logger)
	if err != nil {
		cancel()
		m.closeBroker()
		return fmt.Errorf("demo: subscribe the snapshot: %w", err)
	}
	m.view = view
	m.srv = server.New(m.broker,
		server.WithRegistry(m.Registry),
		server.WithLogger(m.Logger),
		server.WithAllowedTopics(events.TopicPrices, events.TopicChat, events.TopicPresence),
		server.WithOnConnect(m.presence.connect),
	)
	m.private = server.New(m.broker,
		server.WithRegistry(m.Registry),
		server.WithLogger(m.Logger),
		server.WithMethods(http.MethodGet, http.MethodPost),
		server.WithTopics(bodyTopics),
		server.WithAllowedTopics(events.TopicPrices, events.TopicChat, events.TopicPresence),
		server.WithAuthorize(m.authorize),
		server.WithOnConnect(m.presence.connect),
	)
	ln := m.Listener
	if ln == nil {
		if ln, err = net.Listen("tcp", m.Addr); err != nil {
			viewSub.Close()
			cancel()
			m.closeBroker()
			return fmt.Errorf("demo: listen: %w", err)
		}
	}
	m.ln = ln
	// Production settings for streams: a bound on request headers, which
	// a stream holds for its whole life, HTTP/2's WriteByteTimeout, which
	// alone ends a client that stops reading its socket, and Shutdown
	// ending the streams before it waits for them.
	m.http = &http.Server{Handler: m.router()}
	m.srv.ConfigureHTTP(m.http)
	m.private.ConfigureHTTP(m.http)
	m.cancel = cancel
	m.wg.Add(3)
	go func() {
		defer m.wg.Done()
		view.run(ctx, viewSub)
	}()
	go func() {
		defer m.wg.Done()
		if err := m.http.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			m.Logger.Error("demo: serve", "err", err)
		}
	}()
	go func() {
		defer m.wg.Done()
		if m.Tick > 0 {
			runTicker(ctx, m.broker, m.Tick, m.Logger)
		}
	}()
	return nil
}

// URL returns the address the demo serves, such as http://127.0.0.1:8080.
func (m *Main) URL() string { return "http://" + m.ln.Addr().String() }

// Server returns the SSE endpoint, for tests (DisconnectAll, Stats).
func (m *Main) Server() *server.Server { return m.srv }

// PrivateServer returns the endpoint of /private/events, the one the fetch
// transport reads, for tests (DisconnectAll, Stats).
func (m *Main) PrivateServer() *server.Server { return m.private }

// Close ends every stream, stops the server and the ticker, and closes the
// broker.
func (m *Main) Close() error {
	if m.cancel == nil {
		return nil
	}
	m.cancel()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = m.srv.Shutdown(ctx)
	_ = m.private.Shutdown(ctx)
	err := m.http.Shutdown(ctx)
	m.wg.Wait()
	if cerr := m.closeBroker(); err == nil {
		err = cerr
	}
	return err
}

// closeBroker closes the broker, and NATS when Run started it.
func (m *Main) closeBroker() error {
	err := m.broker.Close()
	if m.stopNATS != nil {
		m.stopNATS()
	}
	return err
}

func (m *Main) router() http.Handler {
	r := chi.NewRouter()
	streams := func(h http.Handler) http.Handler { return h }
	if len(m.AllowedOrigins) > 0 {
		streams = cors.Handler(cors.Options{
			AllowedOrigins:   m.AllowedOrigins,
			AllowCredentials: true,
			AllowedHeaders:   []string{"Authorization", "Content-Type", "Idempotency-Key"},
		})
	}
	r.Group(func(r chi.Router) {
		r.Use(streams)
		r.Handle("/events", m.srv)
		r.Handle("/private/events", m.private)
		r.Post("/api/chat", m.postChat)
		r.Get("/api/snapshot", m.getSnapshot)
		r.Options("/*", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	})
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		metrics.NewCollector("events", m.srv),
		metrics.NewCollector("private", m.private),
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	if _, ok := m.broker.(server.PublishCounter); ok {
		reg.MustRegister(metrics.NewBrokerCollector("main", m.broker))
	}
	r.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	r.Get("/healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, "ok")
	})
	r.Handle("/*", web.Handler(m.Assets))
	return r
}
