package browsertest

import (
	"fmt"
	"strings"

	"github.com/chromedp/chromedp"
)

// ConsoleText returns the plain text of a message from [chromedp.Console], as
// a person reads it in a terminal, with no trailing newline:
//
//   - a console API call (console.log, console.error, ...) is its text, as
//     the DevTools console formats the arguments;
//   - an uncaught exception or unhandled promise rejection is its text
//     ("Uncaught Error: boom") followed by one "    at fn (url:line:column)"
//     line per stack frame, with lines and columns counted from 1;
//   - an entry of the browser's own log (a failed request, a security
//     warning) is "browser <source> <level>: text", with the URL after it
//     when the entry has one.
//
// Go's js/wasm runtime writes the program's standard output and error through
// console.log, one call per line, so for a Go program the text of a console
// call is one line of its output.
func ConsoleText(m chromedp.ConsoleMessage) string {
	switch {
	case m.IsException():
		var b strings.Builder
		b.WriteString(m.Text)
		if m.Stack != nil {
			for _, f := range m.Stack.CallFrames {
				name := f.FunctionName
				if name == "" {
					name = "<anonymous>"
				}
				fmt.Fprintf(&b, "\n    at %s (%s:%d:%d)", name, f.URL, f.LineNumber+1, f.ColumnNumber+1)
			}
		}
		return b.String()
	case m.Source != "":
		s := fmt.Sprintf("browser %s %s: %s", m.Source, m.Type, m.Text)
		if m.URL != "" && !strings.Contains(m.Text, m.URL) {
			s += " (" + m.URL + ")"
		}
		return s
	default:
		return m.Text
	}
}

// GoCrashed reports whether line, one line of a Go program's output, starts
// the report of a crash: a panic ("panic: ...") or a fatal runtime error
// ("fatal error: ..."). In js/wasm these go to console.log like any other
// output and raise no JavaScript exception, so a browser test that only
// watches for exceptions misses them: fail the test on these lines.
func GoCrashed(line string) bool {
	return strings.HasPrefix(line, "panic: ") || strings.HasPrefix(line, "fatal error: ")
}
