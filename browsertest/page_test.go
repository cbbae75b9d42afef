package browsertest_test

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ssekit/ssekit/browsertest"
)

func TestExample(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Chromium")
	}
	t.Parallel()
	testGreeting(t)
}

// stepsPage is the page of TestPageSteps.
const stepsPage = `<!doctype html>
<title>steps</title>
<button id="inc" onclick="document.querySelector('#count').textContent++">+1</button>
<span id="count">0</span>
<input id="name">
<select id="color" onchange="document.body.dataset.color = this.value">
	<option value="red">red</option><option value="blue">blue</option>
</select>
<p id="late" hidden data-kind="late">shown later</p>
<ul><li>a</li><li>b</li><li>c</li></ul>
<script>
console.log("hello from", "the page", 42);
setTimeout(() => { document.querySelector("#late").hidden = false; }, 300);
</script>`

// TestPageSteps runs every step of a Page on a page made for it.
func TestPageSteps(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Chromium")
	}
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, stepsPage)
	}))
	t.Cleanup(srv.Close)
	b := browsertest.New(t)
	p := b.NewPage(t)
	p.Navigate(srv.URL)

	p.Click("#inc")
	p.Click("#inc")
	if got := p.Text("#count"); got != "2" {
		t.Errorf("#count after two clicks = %q; want 2", got)
	}
	p.Type("#name", "Zoë\n")
	if got := browsertest.Eval[string](p, `document.querySelector("#name").value`); got != "Zoë" {
		t.Errorf("#name after Type = %q; want %q", got, "Zoë")
	}
	p.SetValue("#color", "blue")
	if got := p.Attr("body", "data-color"); got != "blue" {
		t.Errorf("body data-color after SetValue = %q; want blue (the change event)", got)
	}
	p.WaitVisible("#late")
	if got := p.Attr("#late", "data-kind"); got != "late" {
		t.Errorf(`Attr("#late", "data-kind") = %q; want "late"`, got)
	}
	if got := p.Attr("#late", "data-missing"); got != "" {
		t.Errorf(`Attr of a missing attribute = %q; want ""`, got)
	}
	p.WaitFor("ul li:nth-child(3)")
	if got := p.Count("li"); got != 3 {
		t.Errorf(`Count("li") = %d; want 3`, got)
	}
	if got := browsertest.Eval[int](p, `Promise.resolve(6 * 7)`); got != 42 {
		t.Errorf("Eval of a promise = %d; want 42", got)
	}
	p.Poll(`document.title === "steps"`)

	p.SetCookie(srv.URL, &http.Cookie{Name: "flavour", Value: "oat"})
	if got := browsertest.Eval[string](p, "document.cookie"); got != "flavour=oat" {
		t.Errorf("document.cookie after SetCookie = %q; want flavour=oat", got)
	}
	p.SetViewport(640, 480)
	if got := browsertest.Eval[[]int](p, "[innerWidth, innerHeight]"); !slices.Equal(got, []int{640, 480}) {
		t.Errorf("viewport after SetViewport(640, 480) = %v", got)
	}
	shot := filepath.Join(t.TempDir(), "sub", "shot.png")
	p.Screenshot(shot)
	if png, err := os.ReadFile(shot); err != nil || !bytes.HasPrefix(png, []byte("\x89PNG")) {
		t.Errorf("Screenshot(%s) wrote %d bytes, %v; want a PNG", shot, len(png), err)
	}
	if got := p.Console(); !slices.Contains(got, "hello from the page 42") {
		t.Errorf("Console() = %q; want the page's console.log line", got)
	}
}

// TestUsers checks that users are isolated from each other, and the pages
// of one user are not.
func TestUsers(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Chromium")
	}
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "<!doctype html><title>users</title>")
	}))
	t.Cleanup(srv.Close)
	b := browsertest.New(t)
	ann, bob := b.NewUser(t), b.NewUser(t)
	a1, a2, a3 := ann.NewPage(t), ann.NewPage(t), ann.NewBackgroundPage(t)
	b1 := bob.NewPage(t)
	for _, p := range []*browsertest.Page{a1, a2, a3, b1} {
		p.Navigate(srv.URL)
	}
	a1.SetCookie(srv.URL, &http.Cookie{Name: "who", Value: "ann"})
	for _, tt := range []struct {
		p    *browsertest.Page
		want string
	}{{a1, "who=ann"}, {a2, "who=ann"}, {a3, "who=ann"}, {b1, ""}} {
		if got := browsertest.Eval[string](tt.p, "document.cookie"); got != tt.want {
			t.Errorf("%s: document.cookie = %q; want %q", tt.p.Name(), got, tt.want)
		}
	}
	for _, tt := range []struct {
		p    *browsertest.Page
		want string
	}{{a1, "visible"}, {a3, "hidden"}} {
		if got := browsertest.Eval[string](tt.p, "document.visibilityState"); got != tt.want {
			t.Errorf("%s: document.visibilityState = %q; want %q", tt.p.Name(), got, tt.want)
		}
	}
	// A hidden page gets no animation frames, but Poll uses a timer.
	a3.Poll(`new Promise(r => setTimeout(() => r(true), 10))`)
}

// recorder is a testing.TB that records failures instead of failing, for
// tests of how a Page fails. Fatalf ends the goroutine, as FailNow does;
// run runs a function on a goroutine of its own, then the cleanups.
type recorder struct {
	testing.TB
	mu       sync.Mutex
	failures []string
	cleanups []func()
}

func (r *recorder) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.failures = append(r.failures, "Errorf: "+fmt.Sprintf(format, args...))
}

func (r *recorder) Fatalf(format string, args ...any) {
	r.mu.Lock()
	r.failures = append(r.failures, "Fatalf: "+fmt.Sprintf(format, args...))
	r.mu.Unlock()
	runtime.Goexit()
}

func (r *recorder) Cleanup(f func()) { r.cleanups = append(r.cleanups, f) }

func (r *recorder) run(f func(tb testing.TB)) []string {
	done := make(chan struct{})
	go func() {
		defer close(done)
		f(r)
	}()
	<-done
	for i := len(r.cleanups) - 1; i >= 0; i-- {
		r.cleanups[i]()
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.failures
}

// TestPageFailures checks what a Page reports, and that a crash of the
// page ends the step waiting on it at once.
func TestPageFailures(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Chromium")
	}
	t.Parallel()
	const quiet = `<!doctype html><title>quiet</title><p id="p">text</p><script>console.log("page loaded")</script>`
	pages := map[string]string{
		"/quiet":     quiet,
		"/panic":     `<!doctype html><script>setTimeout(() => { console.log("panic: boom"); console.log(""); console.log("goroutine 1 [running]:") }, 200)</script>`,
		"/fatal":     `<!doctype html><script>setTimeout(() => console.log("fatal error: all goroutines are asleep - deadlock!"), 200)</script>`,
		"/exception": `<!doctype html><script>setTimeout(() => { throw new Error("boom from js") }, 200)</script>`,
		"/rejection": `<!doctype html><script>setTimeout(() => Promise.reject(new Error("rejected")), 200)</script>`,
		"/late":      `<!doctype html><script>addEventListener("click", () => console.log("panic: at the end"))</script>`,
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		page, ok := pages[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, page)
	}))
	t.Cleanup(srv.Close)
	b := browsertest.New(t)

	const long = 20 * time.Second // a crash must end a step long before
	tests := []struct {
		name  string
		steps func(p *browsertest.Page)
		want  []string // in the one failure expected
	}{
		{
			name: "poll",
			steps: func(p *browsertest.Page) {
				p.Navigate(srv.URL + "/quiet")
				p.Timeout(time.Second).Poll(`document.title === "loud"`)
			},
			want: []string{"Fatalf: browsertest: user ", "/quiet): Poll(`document.title === \"loud\"`): not true within 1s", "last console lines:\n\tpage loaded"},
		},
		{
			name: "poll throws",
			steps: func(p *browsertest.Page) {
				p.Navigate(srv.URL + "/quiet")
				p.Timeout(time.Second).Poll(`document.querySelector("#nothing").textContent === "x"`)
			},
			want: []string{"not true within 1s; last evaluation threw TypeError: Cannot read properties of null"},
		},
		{
			name: "click",
			steps: func(p *browsertest.Page) {
				p.Navigate(srv.URL + "/quiet")
				p.Timeout(time.Second).Click("#missing")
			},
			want: []string{`Click("#missing"): not done within 1s`},
		},
		{
			name: "eval",
			steps: func(p *browsertest.Page) {
				p.Navigate(srv.URL + "/quiet")
				browsertest.Eval[int](p, `undefinedFunction()`)
			},
			want: []string{"Eval(`undefinedFunction()`): ", "undefinedFunction is not defined"},
		},
		{
			name: "go panic",
			steps: func(p *browsertest.Page) {
				p.Navigate(srv.URL + "/panic")
				p.Timeout(long).Poll("false")
			},
			want: []string{"Errorf: browsertest: user ", "/panic): the Go program crashed: panic: boom"},
		},
		{
			name: "go fatal error",
			steps: func(p *browsertest.Page) {
				p.Navigate(srv.URL + "/fatal")
				p.Timeout(long).Poll("false")
			},
			want: []string{"the Go program crashed: fatal error: all goroutines are asleep"},
		},
		{
			name: "exception",
			steps: func(p *browsertest.Page) {
				p.Navigate(srv.URL + "/exception")
				p.Timeout(long).Poll("false")
			},
			want: []string{"uncaught exception: Uncaught Error: boom from js"},
		},
		{
			name: "rejection",
			steps: func(p *browsertest.Page) {
				p.Navigate(srv.URL + "/rejection")
				p.Timeout(long).Poll("false")
			},
			want: []string{"uncaught exception: Uncaught (in promise) Error: rejected"},
		},
		{
			name: "at the end",
			steps: func(p *browsertest.Page) {
				p.Navigate(srv.URL + "/late")
				// The page logs as the test ends: only the check at
				// cleanup sees it.
				browsertest.Eval[any](p, `setTimeout(() => document.body.click(), 0)`)
			},
			want: []string{"the Go program crashed: panic: at the end"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			start := time.Now()
			r := &recorder{TB: t}
			failures := r.run(func(tb testing.TB) { tt.steps(b.NewPage(tb)) })
			if time.Since(start) > long/2 {
				t.Errorf("the failure took %v; want it to end the waiting step at once", time.Since(start))
			}
			if len(failures) == 0 {
				t.Fatalf("no failure; want one with %q", tt.want)
			}
			// A crash fails the test with Errorf, and the step it ends
			// with Fatalf: the first says why.
			for _, w := range tt.want {
				if !strings.Contains(failures[0], w) {
					t.Errorf("failure = %q; want it to contain %q", failures[0], w)
				}
			}
		})
	}
}
