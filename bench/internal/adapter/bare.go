package adapter

import "net/http"

// Bare is the floor of the idle-memory scenario: a net/http handler that
// writes the event-stream headers, flushes and blocks until the client
// goes. It publishes nothing.
type Bare struct{}

func (Bare) Name() string { return "bare" }

func (Bare) New(Options) Server { return bareServer{} }

type bareServer struct{}

func (bareServer) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		w.WriteHeader(http.StatusOK)
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	})
}
func (bareServer) Path() string             { return "/events" }
func (bareServer) Publish([]byte) error     { return nil }
func (bareServer) Stats() map[string]uint64 { return nil }
func (bareServer) Close()                   {}
