package browsertest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	chicors "github.com/go-chi/cors"

	"github.com/ssekit/ssekit/server"
)

// FixtureRetry is the reconnection time the fixture's ssekit endpoint sends
// its clients, short so that tests of reconnection are quick.
const FixtureRetry = 50 * time.Millisecond

// FixtureHeartbeat is the heartbeat interval of the fixture's second
// ssekit endpoint, /ssekit/heartbeat/events, short so that a client's
// watchdog (three intervals) notices a dead connection quickly. The first
// endpoint keeps the server's default, so that a slow machine never makes
// a test's stream look dead.
const FixtureHeartbeat = 500 * time.Millisecond

// Fixture is an HTTP server for testing Server-Sent Events clients, such as
// a page's, from the inside: a test scripts the responses a stream URL
// gives, reads back the requests the client made, and drives a real ssekit
// endpoint (publish, disconnect) to test resumption against the real
// server.
//
// Mount it under a prefix with [http.StripPrefix]; the paths below are
// relative to it. The go_js_wasm_exec runner mounts one under /_fixture/
// on the origin of the page that runs the tests, so a js/wasm test reaches
// it with same-origin fetch and EventSource.
//
// Scripted streams, by key (any path segment the test chooses):
//
//	POST   /script/{key}    body: a JSON array of [FixtureResponse]; replaces
//	                        the key's script and forgets its requests
//	DELETE /script/{key}    ends the key's held streams and forgets the key
//	GET    /stream/{key}    (any method) the next scripted response, in order;
//	                        once the script is used up, 204 No Content
//	GET    /requests/{key}  a JSON array of [FixtureRequest]: what reached
//	                        /stream/{key} (and /ssekit/events?key={key})
//
// The ssekit endpoint, a [server.Server] on a [server.MemoryBroker] with
// retry [FixtureRetry] that also accepts POST, and CORS for any origin (the
// proxies below are other origins):
//
//	GET  /ssekit/events?topic=t[&key=k]   the stream; with key, the request is
//	                                      recorded under k
//	GET  /ssekit/heartbeat/events?...     the same, from a second server on
//	                                      the same broker with heartbeats every
//	                                      [FixtureHeartbeat]
//	POST /ssekit/publish?topic=t&type=x   publishes the request body as the data
//	                                      of an event of type x (default
//	                                      "message"); answers the event's ID
//	POST /ssekit/sequence?topic=t&type=x&n=N&every=D
//	                                      publishes the JSON numbers 1, 2, ... N
//	                                      (N 0: until stopped) as events of type
//	                                      x, one every D (0: at once), in the
//	                                      background; answers 202
//	GET    /ssekit/sequence?topic=t       a [FixtureSequence]: how far it got
//	DELETE /ssekit/sequence?topic=t       stops it first
//	POST /ssekit/disconnect               ends every open stream cleanly
//	                                      ([server.Server.DisconnectAll])
//
// TCP proxies in front of the fixture's own server, on ports of their own,
// for a network that misbehaves (see [ProxyState]):
//
//	POST   /proxy               a new proxy to the server that got the request;
//	                            answers a [FixtureProxy]
//	POST   /proxy/{id}/{state}  forward, blackhole or refuse
//	DELETE /proxy/{id}          closes it and its connections
//
// The tab the page runs in, when the fixture has one ([Fixture.SetTab]);
// each answers 202 at once, acts, and undoes it after the duration:
//
//	POST /tab/offline?for=D[&proxy=id]  offline (network emulation; the
//	                                    proxy refusing connections meanwhile)
//	POST /tab/freeze?for=D              frozen (Page.setWebLifecycleState),
//	                                    then active and visible
//	GET  /tab/log                       a JSON array of [TabEvent]: what was
//	                                    done, when
//
// A Fixture is safe for concurrent use.
type Fixture struct {
	mux    *http.ServeMux
	broker *server.MemoryBroker
	sse    *server.Server
	beat   *server.Server // the same with FixtureHeartbeat

	mu        sync.Mutex
	scripts   map[string]*script
	proxies   map[string]*proxy
	proxyN    int
	sequences map[string]*sequence
	tab       context.Context
	tabLog    []TabEvent
	closed    bool
	done      chan struct{}
}

// FixtureProxy is a proxy made by POST /proxy.
type FixtureProxy struct {
	ID string `json:"id"`
	// Origin is the proxy's, such as "http://127.0.0.1:40123": a page
	// reaches the fixture through it at the same path, cross-origin.
	Origin string `json:"origin"`
}

// FixtureSequence says how far a sequence of /ssekit/sequence got.
type FixtureSequence struct {
	// Published is the number of events published: the last number.
	Published int `json:"published"`
	// LastID is the ID of the last event published.
	LastID string `json:"lastId"`
	// Done is true once it has published all it was asked to, or was
	// stopped.
	Done bool `json:"done"`
}

type sequence struct {
	mu   sync.Mutex
	st   FixtureSequence
	stop chan struct{}
	done chan struct{}
}

// FixtureResponse is one scripted response.
type FixtureResponse struct {
	// Status is the status code; 0 means 200.
	Status int `json:"status,omitempty"`
	// ContentType is the Content-Type; "" means text/event-stream.
	ContentType string `json:"contentType,omitempty"`
	// NoContentType sends no Content-Type at all.
	NoContentType bool `json:"noContentType,omitempty"`
	// Headers are more response headers.
	Headers map[string]string `json:"headers,omitempty"`
	// Body is written as it is, then flushed.
	Body string `json:"body,omitempty"`
	// Bytes, when set, are written after Body: JSON carries them in
	// base64, for bodies that are not valid UTF-8.
	Bytes []byte `json:"bytes,omitempty"`
	// Hold keeps the response open after the body, until the client goes,
	// the key is deleted or the fixture is closed; otherwise the body ends
	// the response.
	Hold bool `json:"hold,omitempty"`
}

// FixtureRequest is a request the fixture received.
type FixtureRequest struct {
	Method string `json:"method"`
	URL    string `json:"url"` // the request URI, as the client sent it
	// Header has one entry per header, by canonical name, values joined
	// with ", ": Last-Event-ID, Authorization, Accept, Cookie, ...
	Header map[string]string `json:"headers"`
	Body   string            `json:"body"`
	Time   time.Time         `json:"time"`
}

type script struct {
	responses []FixtureResponse
	next      int
	requests  []FixtureRequest
	gone      chan struct{} // closed when the key is deleted or replaced
}

// maxFixtureBody bounds what the fixture reads of a request body.
const maxFixtureBody = 1 << 20

// NewFixture returns a Fixture with no scripts and an empty broker. Close
// it when done.
func NewFixture() *Fixture {
	f := &Fixture{
		broker:    server.NewMemoryBroker(),
		scripts:   make(map[string]*script),
		proxies:   make(map[string]*proxy),
		sequences: make(map[string]*sequence),
		done:      make(chan struct{}),
	}
	f.sse = server.New(f.broker, server.WithRetry(FixtureRetry), server.WithMethods("GET", "POST"))
	f.beat = server.New(f.broker, server.WithRetry(FixtureRetry), server.WithMethods("GET", "POST"), server.WithHeartbeat(FixtureHeartbeat))
	// Any origin, without credentials: the proxies are other origins, and a
	// fetch client that resumes sends Last-Event-ID, which needs a
	// preflight.
	cors := chicors.Handler(chicors.Options{
		AllowedOrigins: []string{"*"},
		AllowedMethods: []string{http.MethodGet, http.MethodPost},
		AllowedHeaders: []string{"Last-Event-ID", "Accept", "Cache-Control", "Authorization", "Content-Type"},
		MaxAge:         600,
	})
	m := http.NewServeMux()
	m.HandleFunc("POST /script/{key}", f.postScript)
	m.HandleFunc("DELETE /script/{key}", f.deleteScript)
	m.HandleFunc("/stream/{key}", f.stream)
	m.HandleFunc("GET /requests/{key}", f.requests)
	m.Handle("/ssekit/events", cors(f.events(f.sse)))
	m.Handle("/ssekit/heartbeat/events", cors(f.events(f.beat)))
	m.HandleFunc("POST /ssekit/publish", f.publish)
	m.HandleFunc("POST /ssekit/sequence", f.startSequence)
	m.HandleFunc("GET /ssekit/sequence", f.getSequence)
	m.HandleFunc("DELETE /ssekit/sequence", f.stopSequence)
	m.HandleFunc("POST /ssekit/disconnect", f.disconnect)
	m.HandleFunc("POST /proxy", f.newProxy)
	m.HandleFunc("POST /proxy/{id}/{state}", f.setProxy)
	m.HandleFunc("DELETE /proxy/{id}", f.deleteProxy)
	m.HandleFunc("POST /tab/offline", f.offline)
	m.HandleFunc("POST /tab/freeze", f.freeze)
	m.HandleFunc("GET /tab/log", f.getTabLog)
	f.mux = m
	return f
}

// Streams returns how many streams the fixture's ssekit endpoints have
// open now, and how many they have opened since the fixture started: what
// a test of clients that share a connection counts.
func (f *Fixture) Streams() (open int, opened uint64) {
	for _, srv := range []*server.Server{f.sse, f.beat} {
		st := srv.Stats()
		open += st.Open
		opened += st.Connections
	}
	return open, opened
}

// ServeHTTP serves the fixture's endpoints.
func (f *Fixture) ServeHTTP(w http.ResponseWriter, r *http.Request) { f.mux.ServeHTTP(w, r) }

// Close ends held streams, the ssekit endpoint's streams, the sequences and
// the proxies. Requests after Close get 503.
func (f *Fixture) Close() error {
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		return nil
	}
	f.closed = true
	close(f.done)
	proxies, sequences := f.proxies, f.sequences
	f.proxies, f.sequences = map[string]*proxy{}, map[string]*sequence{}
	f.mu.Unlock()
	for _, p := range proxies {
		p.close()
	}
	for _, s := range sequences {
		s.halt()
	}
	return f.broker.Close()
}

func (f *Fixture) postScript(w http.ResponseWriter, r *http.Request) {
	var rs []FixtureResponse
	if err := json.NewDecoder(io.LimitReader(r.Body, maxFixtureBody)).Decode(&rs); err != nil {
		http.Error(w, "fixture: script: "+err.Error(), http.StatusBadRequest)
		return
	}
	key := r.PathValue("key")
	f.mu.Lock()
	if old := f.scripts[key]; old != nil {
		close(old.gone)
	}
	f.scripts[key] = &script{responses: rs, gone: make(chan struct{})}
	f.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

func (f *Fixture) deleteScript(w http.ResponseWriter, r *http.Request) {
	key := r.PathValue("key")
	f.mu.Lock()
	if s := f.scripts[key]; s != nil {
		close(s.gone)
		delete(f.scripts, key)
	}
	f.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

// record notes r, whose body is body, under key and returns the key's
// script, creating an empty one for a key never scripted.
func (f *Fixture) record(key string, r *http.Request, body []byte) *script {
	req := FixtureRequest{
		Method: r.Method,
		URL:    r.RequestURI,
		Header: make(map[string]string, len(r.Header)),
		Body:   string(body),
		Time:   time.Now(),
	}
	for name, values := range r.Header {
		req.Header[name] = strings.Join(values, ", ")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	s := f.scripts[key]
	if s == nil {
		s = &script{gone: make(chan struct{})}
		f.scripts[key] = s
	}
	s.requests = append(s.requests, req)
	return s
}

func (f *Fixture) stream(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, maxFixtureBody))
	s := f.record(r.PathValue("key"), r, body)
	f.mu.Lock()
	var resp FixtureResponse
	ok := s.next < len(s.responses)
	if ok {
		resp = s.responses[s.next]
		s.next++
	}
	closed := f.closed
	f.mu.Unlock()
	switch {
	case closed:
		http.Error(w, "fixture: closed", http.StatusServiceUnavailable)
		return
	case !ok:
		w.Header().Set("X-Fixture", "script used up")
		w.WriteHeader(http.StatusNoContent)
		return
	}
	h := w.Header()
	for k, v := range resp.Headers {
		h.Set(k, v)
	}
	switch {
	case resp.NoContentType:
		h["Content-Type"] = nil // and no sniffing either
	case resp.ContentType != "":
		h.Set("Content-Type", resp.ContentType)
	case h.Get("Content-Type") == "":
		h.Set("Content-Type", "text/event-stream")
	}
	h.Set("Cache-Control", "no-store")
	status := resp.Status
	if status == 0 {
		status = http.StatusOK
	}
	w.WriteHeader(status)
	io.WriteString(w, resp.Body)
	w.Write(resp.Bytes)
	if !resp.Hold {
		return
	}
	http.NewResponseController(w).Flush()
	select {
	case <-r.Context().Done():
	case <-s.gone:
	case <-f.done:
	}
}

func (f *Fixture) requests(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	reqs := []FixtureRequest{}
	if s := f.scripts[r.PathValue("key")]; s != nil {
		reqs = append(reqs, s.requests...)
	}
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	json.NewEncoder(w).Encode(reqs)
}

func (f *Fixture) events(srv *server.Server) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if key := r.URL.Query().Get("key"); key != "" {
			body, _ := io.ReadAll(io.LimitReader(r.Body, maxFixtureBody))
			r.Body = io.NopCloser(bytes.NewReader(body))
			f.record(key, r, body)
		}
		srv.ServeHTTP(w, r)
	})
}

func (f *Fixture) publish(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	data, err := io.ReadAll(io.LimitReader(r.Body, maxFixtureBody))
	if err != nil {
		http.Error(w, "fixture: publish: "+err.Error(), http.StatusBadRequest)
		return
	}
	typ := q.Get("type")
	if typ == "" {
		typ = "message"
	}
	id, err := server.PublishRaw(r.Context(), f.broker, q.Get("topic"), typ, data)
	if err != nil {
		http.Error(w, "fixture: publish: "+err.Error(), http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	io.WriteString(w, id)
}

func (f *Fixture) disconnect(w http.ResponseWriter, r *http.Request) {
	f.sse.DisconnectAll()
	f.beat.DisconnectAll()
	w.WriteHeader(http.StatusNoContent)
}

// maxSequence bounds the events of one sequence.
const maxSequence = 1_000_000

func (f *Fixture) startSequence(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	topic, typ := q.Get("topic"), q.Get("type")
	if typ == "" {
		typ = "message"
	}
	n, err := strconv.Atoi(q.Get("n"))
	if q.Get("n") == "" {
		n, err = 0, nil
	}
	var every time.Duration
	if err == nil && q.Get("every") != "" {
		every, err = time.ParseDuration(q.Get("every"))
	}
	switch {
	case err != nil:
		http.Error(w, "fixture: sequence: "+err.Error(), http.StatusBadRequest)
		return
	case topic == "" || n < 0 || n > maxSequence || every < 0:
		http.Error(w, fmt.Sprintf("fixture: sequence: want a topic, 0 <= n <= %d and every >= 0", maxSequence), http.StatusBadRequest)
		return
	}
	s := &sequence{stop: make(chan struct{}), done: make(chan struct{})}
	f.mu.Lock()
	if f.closed || f.sequences[topic] != nil {
		f.mu.Unlock()
		http.Error(w, "fixture: sequence: closed, or one runs on "+topic, http.StatusConflict)
		return
	}
	f.sequences[topic] = s
	f.mu.Unlock()
	go s.run(f.broker, topic, typ, n, every)
	w.WriteHeader(http.StatusAccepted)
}

func (s *sequence) run(b *server.MemoryBroker, topic, typ string, n int, every time.Duration) {
	defer close(s.done)
	defer func() {
		s.mu.Lock()
		s.st.Done = true
		s.mu.Unlock()
	}()
	var tick <-chan time.Time
	if every > 0 {
		t := time.NewTicker(every)
		defer t.Stop()
		tick = t.C
	}
	for i := 1; n == 0 || i <= n; i++ {
		if tick != nil {
			select {
			case <-tick:
			case <-s.stop:
				return
			}
		} else {
			select {
			case <-s.stop:
				return
			default:
			}
		}
		id, err := server.PublishRaw(context.Background(), b, topic, typ, []byte(strconv.Itoa(i)))
		if err != nil {
			return
		}
		s.mu.Lock()
		s.st.Published, s.st.LastID = i, id
		s.mu.Unlock()
	}
}

// halt stops the sequence and waits for it.
func (s *sequence) halt() {
	select {
	case <-s.stop:
	default:
		close(s.stop)
	}
	<-s.done
}

func (s *sequence) status() FixtureSequence {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.st
}

func (f *Fixture) sequenceOf(w http.ResponseWriter, r *http.Request) *sequence {
	topic := r.URL.Query().Get("topic")
	f.mu.Lock()
	s := f.sequences[topic]
	f.mu.Unlock()
	if s == nil {
		http.Error(w, "fixture: no sequence on "+topic, http.StatusNotFound)
	}
	return s
}

func (f *Fixture) getSequence(w http.ResponseWriter, r *http.Request) {
	if s := f.sequenceOf(w, r); s != nil {
		writeJSON(w, s.status())
	}
}

func (f *Fixture) stopSequence(w http.ResponseWriter, r *http.Request) {
	s := f.sequenceOf(w, r)
	if s == nil {
		return
	}
	s.halt()
	f.mu.Lock()
	delete(f.sequences, r.URL.Query().Get("topic"))
	f.mu.Unlock()
	writeJSON(w, s.status())
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	json.NewEncoder(w).Encode(v)
}

func (f *Fixture) newProxy(w http.ResponseWriter, r *http.Request) {
	p, err := newProxy(r.Host)
	if err != nil {
		http.Error(w, "fixture: proxy: "+err.Error(), http.StatusInternalServerError)
		return
	}
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		p.close()
		http.Error(w, "fixture: closed", http.StatusServiceUnavailable)
		return
	}
	f.proxyN++
	id := "p" + strconv.Itoa(f.proxyN)
	f.proxies[id] = p
	f.mu.Unlock()
	writeJSON(w, FixtureProxy{ID: id, Origin: p.origin()})
}

func (f *Fixture) proxyByID(id string) *proxy {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.proxies[id]
}

func (f *Fixture) setProxy(w http.ResponseWriter, r *http.Request) {
	p := f.proxyByID(r.PathValue("id"))
	if p == nil {
		http.Error(w, "fixture: no proxy "+r.PathValue("id"), http.StatusNotFound)
		return
	}
	if err := p.set(ProxyState(r.PathValue("state"))); err != nil {
		http.Error(w, "fixture: proxy: "+err.Error(), http.StatusBadRequest)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (f *Fixture) deleteProxy(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	p := f.proxies[r.PathValue("id")]
	delete(f.proxies, r.PathValue("id"))
	f.mu.Unlock()
	if p != nil {
		p.close()
	}
	w.WriteHeader(http.StatusNoContent)
}
