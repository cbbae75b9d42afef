package browsertest

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/ssekit/ssekit/server"
	"github.com/ssekit/ssekit/shared/sse"
)

// FixtureRetry is the reconnection time the fixture's ssekit endpoint sends
// its clients, short so that tests of reconnection are quick.
const FixtureRetry = 50 * time.Millisecond

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
// retry [FixtureRetry] that also accepts POST:
//
//	GET  /ssekit/events?topic=t[&key=k]   the stream; with key, the request is
//	                                      recorded under k
//	POST /ssekit/publish?topic=t&type=x   publishes the request body as the data
//	                                      of an event of type x (default
//	                                      "message"); answers the event's ID
//	POST /ssekit/disconnect               ends every open stream cleanly
//	                                      ([server.Server.DisconnectAll])
//
// A Fixture is safe for concurrent use.
type Fixture struct {
	mux    *http.ServeMux
	broker *server.MemoryBroker
	sse    *server.Server

	mu      sync.Mutex
	scripts map[string]*script
	closed  bool
	done    chan struct{}
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
		broker:  server.NewMemoryBroker(),
		scripts: make(map[string]*script),
		done:    make(chan struct{}),
	}
	f.sse = server.New(f.broker, server.WithRetry(FixtureRetry), server.WithMethods("GET", "POST"))
	m := http.NewServeMux()
	m.HandleFunc("POST /script/{key}", f.postScript)
	m.HandleFunc("DELETE /script/{key}", f.deleteScript)
	m.HandleFunc("/stream/{key}", f.stream)
	m.HandleFunc("GET /requests/{key}", f.requests)
	m.HandleFunc("/ssekit/events", f.events)
	m.HandleFunc("POST /ssekit/publish", f.publish)
	m.HandleFunc("POST /ssekit/disconnect", f.disconnect)
	f.mux = m
	return f
}

// ServeHTTP serves the fixture's endpoints.
func (f *Fixture) ServeHTTP(w http.ResponseWriter, r *http.Request) { f.mux.ServeHTTP(w, r) }

// Close ends held streams and the ssekit endpoint's streams. Requests after
// Close get 503.
func (f *Fixture) Close() error {
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		return nil
	}
	f.closed = true
	close(f.done)
	f.mu.Unlock()
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

func (f *Fixture) events(w http.ResponseWriter, r *http.Request) {
	if key := r.URL.Query().Get("key"); key != "" {
		body, _ := io.ReadAll(io.LimitReader(r.Body, maxFixtureBody))
		r.Body = io.NopCloser(bytes.NewReader(body))
		f.record(key, r, body)
	}
	f.sse.ServeHTTP(w, r)
}

func (f *Fixture) publish(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	data, err := io.ReadAll(io.LimitReader(r.Body, maxFixtureBody))
	if err != nil {
		http.Error(w, "fixture: publish: "+err.Error(), http.StatusBadRequest)
		return
	}
	frame, err := sse.AppendEvent(nil, sse.Event{Type: q.Get("type"), Data: string(data)})
	if err != nil {
		http.Error(w, "fixture: publish: "+err.Error(), http.StatusBadRequest)
		return
	}
	id, err := f.broker.Publish(r.Context(), q.Get("topic"), frame)
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
	w.WriteHeader(http.StatusNoContent)
}
