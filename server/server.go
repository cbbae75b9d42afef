package server

import (
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
)

// Server is the Server-Sent Events endpoint: an [http.Handler] that streams
// a [Broker]'s topics to each request. Mount it anywhere, in chi or in
// net/http. It answers GET (see [WithMethods]).
type Server struct {
	broker    Broker
	cfg       config
	helloData string // the hello event's data, the same for every stream

	flushOnce, deadlineOnce, capOnce sync.Once // a warning, once
	afterSubscribe                   atomic.Pointer[func()]
	afterOwnDrain                    atomic.Pointer[func()] // a test seam: see export_test.go
	pool                             *pool
	dog                              watchdog

	mu        sync.Mutex
	perClient map[string]int
	conns     int
	closing   bool
	streams   map[*conn]struct{} // open streams, for Shutdown and DisconnectAll
	active    sync.WaitGroup
	counters  counters
}

type counters struct {
	connections, delivered, bytes, replayed, resets, evicted, rejected atomic.Uint64
}

// New returns a Server streaming from broker. It panics, naming the option,
// when an option is invalid.
func New(broker Broker, opts ...Option) *Server {
	if broker == nil {
		panic("server: New: nil broker")
	}
	cfg := config{
		topics:       QueryTopics,
		methods:      []string{http.MethodGet},
		maxTopics:    DefaultMaxTopics,
		retry:        DefaultRetry,
		heartbeat:    DefaultHeartbeat,
		writeTimeout: DefaultWriteTimeout,
		maxConns:     DefaultMaxConnections,
		maxPerClient: DefaultMaxPerClient,
		client:       RemoteClient,
		maxIDLen:     DefaultMaxLastEventIDLen,
		retryAfter:   DefaultRetryAfter,
		logger:       slog.Default(),
	}
	for _, opt := range opts {
		opt(&cfg)
	}
	if len(cfg.errs) > 0 {
		panic("server: New: " + strings.Join(cfg.errs, "; "))
	}
	return &Server{
		broker:    broker,
		cfg:       cfg,
		helloData: helloData(cfg.registry, cfg.heartbeat),
		pool:      newPool(readyCapacity(cfg.maxConns)),
		perClient: make(map[string]int),
		streams:   make(map[*conn]struct{}),
	}
}

// readyCapacity is the size of the pool's ready queue: room for every
// stream the caps allow, each being on it at most once.
func readyCapacity(maxConns int) int {
	if maxConns <= 0 || maxConns > 1<<16 {
		return 1 << 16 // past that, streams left out are written by their own goroutine
	}
	return maxConns
}
