package browsertest_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/ssekit/ssekit/browsertest"
)

// greeter serves a page that reads a greeting from an event stream, with
// the browser's EventSource, and shows it.
func greeter() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `<!doctype html>
<title>greeter</title>
<p id="greeting"></p>
<script>
new EventSource("/events").onmessage = (e) => {
	document.querySelector("#greeting").textContent = e.data;
};
</script>`)
	})
	mux.HandleFunc("GET /events", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		fmt.Fprint(w, "retry: 60000\ndata: hello, world\n\n")
	})
	return mux
}

// testGreeting is an application's end-to-end test: a browser, a page for
// one user, and steps that each fail the test with a clear message. In the
// application it is TestGreeting; here TestExample runs it.
func testGreeting(t *testing.T) {
	srv := httptest.NewServer(greeter())
	t.Cleanup(srv.Close)

	b := browsertest.New(t) // skips the test when Chromium is missing
	p := b.NewPage(t)
	p.Navigate(srv.URL)
	p.Poll(`document.querySelector("#greeting").textContent !== ""`)
	if got := p.Text("#greeting"); got != "hello, world" {
		t.Errorf("#greeting = %q; want %q", got, "hello, world")
	}
}

// Example shows a whole end-to-end test of a page that streams Server-Sent
// Events; see testGreeting above.
func Example() {
	// func TestGreeting(t *testing.T) { testGreeting(t) }
}
