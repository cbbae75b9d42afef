package main

import (
	"errors"
	"io"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestProgramArgs(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		args        []string
		want        []string
		wantTimeout time.Duration
		wantHas     bool
		wantNotes   string
	}{
		{
			name:        "go test defaults",
			args:        []string{"-test.paniconexit0", "-test.timeout=10m0s"},
			want:        []string{"-test.paniconexit0", "-test.timeout=10m0s"},
			wantTimeout: 10 * time.Minute,
			wantHas:     true,
		},
		{
			name: "run and v pass through",
			args: []string{"-test.v=true", "-test.run=^TestX$", "-test.count=1", "plain"},
			want: []string{"-test.v=true", "-test.run=^TestX$", "-test.count=1", "plain"},
		},
		{
			name:        "timeout as two arguments",
			args:        []string{"-test.timeout", "90s", "-test.v"},
			want:        []string{"-test.timeout", "90s", "-test.v"},
			wantTimeout: 90 * time.Second,
			wantHas:     true,
		},
		{
			name:    "timeout zero",
			args:    []string{"--test.timeout=0"},
			want:    []string{"--test.timeout=0"},
			wantHas: true,
		},
		{
			name: "testlogfile dropped silently",
			args: []string{"-test.testlogfile=/tmp/x/testlog.txt", "-test.v"},
			want: []string{"-test.v"},
		},
		{
			name:      "profiles dropped with a note",
			args:      []string{"-test.cpuprofile=cpu.out", "-test.outputdir=/tmp/o", "-test.trace", "trace.out", "-test.artifacts", "-test.run=X"},
			want:      []string{"-test.outputdir=/tmp/o", "-test.run=X"},
			wantNotes: "ignoring -test.cpuprofile|ignoring -test.trace|ignoring -test.artifacts",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var notes strings.Builder
			got, timeout, has, err := programArgs(tt.args, &notes)
			if err != nil {
				t.Fatalf("programArgs(%q) error = %v", tt.args, err)
			}
			if !slices.Equal(got, tt.want) || timeout != tt.wantTimeout || has != tt.wantHas {
				t.Errorf("programArgs(%q) = %q, %v, %v; want %q, %v, %v", tt.args, got, timeout, has, tt.want, tt.wantTimeout, tt.wantHas)
			}
			var gotNotes []string
			for line := range strings.Lines(notes.String()) {
				name, _, _ := strings.Cut(strings.TrimPrefix(line, "go_js_wasm_exec: "), ":")
				gotNotes = append(gotNotes, name)
			}
			if got := strings.Join(gotNotes, "|"); got != tt.wantNotes {
				t.Errorf("programArgs(%q) notes = %q; want %q", tt.args, got, tt.wantNotes)
			}
		})
	}
}

func TestProgramArgsErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		args []string
		want error // nil: any error
	}{
		{[]string{"-test.gocoverdir=/tmp/cov"}, errCover},
		{[]string{"-test.coverprofile=c.out"}, errCover},
		{[]string{"-test.timeout=soon"}, nil},
	}
	for _, tt := range tests {
		_, _, _, err := programArgs(tt.args, io.Discard)
		if err == nil || (tt.want != nil && !errors.Is(err, tt.want)) {
			t.Errorf("programArgs(%q) error = %v; want %v", tt.args, err, tt.want)
		}
	}
}
