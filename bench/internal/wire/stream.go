package wire

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"
)

// Stream reads a text/event-stream response from a raw connection: it
// sends a GET, reads the status and headers, undoes chunked transfer coding
// and hands out complete event blocks. It parses nothing else, so that a
// load generator's cost is the bytes, not a client library.
//
// A Stream is not safe for concurrent use.
type Stream struct {
	Conn    net.Conn
	Status  int
	chunked bool

	raw []byte // read buffer
	buf []byte // de-chunked payload not yet split into blocks

	// chunked decoding state
	st        int
	size      int
	chunkLeft int
	crlfLeft  int
}

const (
	stSize = iota
	stSizeExt
	stData
	stCRLF
	stEnd
)

// ErrEnd is returned by Read when the response body ended cleanly.
var ErrEnd = errors.New("wire: end of stream")

// Open sends a GET for uri on c, with a Last-Event-ID header when lastID is
// not empty, and reads the response's status line and headers.
func Open(c net.Conn, host, uri, lastID string) (*Stream, error) {
	req := "GET " + uri + " HTTP/1.1\r\nHost: " + host + "\r\nAccept: text/event-stream\r\nCache-Control: no-store\r\n"
	if lastID != "" {
		req += "Last-Event-ID: " + lastID + "\r\n"
	}
	req += "\r\n"
	if _, err := io.WriteString(c, req); err != nil {
		return nil, err
	}
	s := &Stream{Conn: c, raw: make([]byte, 16<<10)}
	// Headers: read until the blank line; the rest is body.
	var hdr []byte
	for {
		n, err := c.Read(s.raw)
		hdr = append(hdr, s.raw[:n]...)
		if i := bytes.Index(hdr, []byte("\r\n\r\n")); i >= 0 {
			if err := s.headers(hdr[:i+2]); err != nil {
				return nil, err
			}
			s.body(hdr[i+4:])
			return s, nil
		}
		if err != nil {
			return nil, fmt.Errorf("wire: reading response headers: %w", err)
		}
		if len(hdr) > 64<<10 {
			return nil, errors.New("wire: response headers too long")
		}
	}
}

func (s *Stream) headers(h []byte) error {
	r := bufio.NewReader(bytes.NewReader(h))
	status, err := r.ReadString('\n')
	if err != nil {
		return err
	}
	f := strings.Fields(status)
	if len(f) < 2 {
		return fmt.Errorf("wire: bad status line %q", status)
	}
	s.Status, err = strconv.Atoi(f[1])
	if err != nil {
		return fmt.Errorf("wire: bad status line %q", status)
	}
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			break
		}
		k, v, ok := strings.Cut(line, ":")
		if ok && strings.EqualFold(strings.TrimSpace(k), "Transfer-Encoding") && strings.Contains(strings.ToLower(v), "chunked") {
			s.chunked = true
		}
	}
	if s.Status != 200 {
		return fmt.Errorf("wire: status %d", s.Status)
	}
	return nil
}

// body appends the payload bytes of p, undoing chunked coding.
func (s *Stream) body(p []byte) {
	if !s.chunked {
		s.buf = append(s.buf, p...)
		return
	}
	for i := 0; i < len(p); {
		switch s.st {
		case stSize, stSizeExt:
			c := p[i]
			i++
			switch {
			case c == '\n':
				if s.size == 0 {
					s.st = stEnd
				} else {
					s.chunkLeft, s.size, s.st = s.size, 0, stData
				}
			case s.st == stSize && '0' <= c && c <= '9':
				s.size = s.size<<4 | int(c-'0')
			case s.st == stSize && 'a' <= c|0x20 && c|0x20 <= 'f':
				s.size = s.size<<4 | int(c|0x20-'a'+10)
			default: // CR or a chunk extension
				s.st = stSizeExt
			}
		case stData:
			k := min(s.chunkLeft, len(p)-i)
			s.buf = append(s.buf, p[i:i+k]...)
			i += k
			if s.chunkLeft -= k; s.chunkLeft == 0 {
				s.st, s.crlfLeft = stCRLF, 2
			}
		case stCRLF:
			i++
			if s.crlfLeft--; s.crlfLeft == 0 {
				s.st = stSize
			}
		case stEnd:
			return
		}
	}
}

var blank = []byte("\n\n")

// Read reads once from the connection and calls fn for every event block
// (without its blank line) that the read completed, with the time the read
// returned. It returns ErrEnd at the clean end of the body and the
// connection's error otherwise.
func (s *Stream) Read(fn func(block []byte, now time.Time)) error {
	if err := s.flush(fn, time.Now()); err != nil {
		return err
	}
	n, err := s.Conn.Read(s.raw)
	now := time.Now()
	if n > 0 {
		s.body(s.raw[:n])
		if ferr := s.flush(fn, now); ferr != nil {
			return ferr
		}
	}
	if err != nil {
		if errors.Is(err, io.EOF) && (!s.chunked || s.st == stEnd) {
			return ErrEnd
		}
		return err
	}
	return nil
}

func (s *Stream) flush(fn func([]byte, time.Time), now time.Time) error {
	last := bytes.LastIndex(s.buf, blank)
	if last < 0 {
		if s.st == stEnd {
			return ErrEnd
		}
		return nil
	}
	done := s.buf[:last+2]
	for len(done) > 0 {
		i := bytes.Index(done, blank)
		fn(done[:i+1], now)
		done = done[i+2:]
	}
	rest := copy(s.buf, s.buf[last+2:])
	s.buf = s.buf[:rest]
	if cap(s.buf) > 1<<20 && rest < 64<<10 {
		s.buf = append([]byte(nil), s.buf...)
	}
	if s.st == stEnd {
		return ErrEnd
	}
	return nil
}
