package browsertest

import (
	"testing"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

func TestGoCrashed(t *testing.T) {
	t.Parallel()
	tests := []struct {
		line string
		want bool
	}{
		{"panic: boom", true},
		{"panic: boom [recovered]", true},
		{"fatal error: all goroutines are asleep - deadlock!", true},
		{"--- FAIL: TestX (0.00s)", false},
		{"    x_test.go:12: panic: not at the start", false},
		{"panicking", false},
		{"", false},
	}
	for _, tt := range tests {
		if got := GoCrashed(tt.line); got != tt.want {
			t.Errorf("GoCrashed(%q) = %v; want %v", tt.line, got, tt.want)
		}
	}
}

func TestConsoleText(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		m    chromedp.ConsoleMessage
		want string
	}{
		{
			name: "log",
			m:    chromedp.ConsoleMessage{Type: chromedp.ConsoleLog, Text: "hello 1"},
			want: "hello 1",
		},
		{
			name: "exception with stack",
			m: chromedp.ConsoleMessage{
				Type: chromedp.ConsoleException,
				Text: "Uncaught Error: boom",
				Stack: &runtime.StackTrace{CallFrames: []*runtime.CallFrame{
					{FunctionName: "f", URL: "http://x/a.js", LineNumber: 0, ColumnNumber: 4},
					{URL: "http://x/b.js", LineNumber: 9, ColumnNumber: 0},
				}},
			},
			want: "Uncaught Error: boom\n    at f (http://x/a.js:1:5)\n    at <anonymous> (http://x/b.js:10:1)",
		},
		{
			name: "browser log",
			m: chromedp.ConsoleMessage{
				Type: chromedp.ConsoleError, Source: "network",
				Text: "Failed to load resource: 404", URL: "http://x/missing",
			},
			want: "browser network error: Failed to load resource: 404 (http://x/missing)",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := ConsoleText(tt.m); got != tt.want {
				t.Errorf("ConsoleText(%+v) = %q; want %q", tt.m, got, tt.want)
			}
		})
	}
}
