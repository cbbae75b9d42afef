package faulttest

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"text/template"
	"time"

	"github.com/ssekit/ssekit/internal/natstest"
)

// nginxBinary finds nginx where scripts/ensure-nginx.sh looks, in the same
// order: $NGINX, nginx on PATH, /usr/sbin/nginx. A test without one skips,
// saying how to get it.
func nginxBinary(tb testing.TB) string {
	tb.Helper()
	if p := os.Getenv("NGINX"); p != "" {
		path, err := exec.LookPath(p)
		if err != nil {
			tb.Fatalf("NGINX=%s: %v", p, err)
		}
		return path
	}
	for _, name := range []string{"nginx", "/usr/sbin/nginx"} {
		if path, err := exec.LookPath(name); err == nil {
			return path
		}
	}
	tb.Skip("nginx not found: run scripts/ensure-nginx.sh (make test does, as root with apt-get), or set NGINX=/path/to/nginx")
	return ""
}

// nginxConf is the configuration of the suite's nginx: a reverse proxy in
// front of one ssekit instance, on two loopback ports, HTTP/1.1 and HTTP/2
// with TLS, set up as the README's Deploying section says. It runs as one
// process in the foreground (master_process off), as the test's child.
var nginxConf = template.Must(template.New("nginx.conf").Parse(`
daemon off;
master_process off;
worker_processes 1;
pid {{.Dir}}/nginx.pid;
error_log {{.Dir}}/error.log warn;
events { worker_connections 1024; }
http {
	access_log off;
	client_body_temp_path {{.Dir}}/client_body;
	proxy_temp_path {{.Dir}}/proxy;
	fastcgi_temp_path {{.Dir}}/fastcgi;
	uwsgi_temp_path {{.Dir}}/uwsgi;
	scgi_temp_path {{.Dir}}/scgi;

	upstream ssekit {
		server {{.Upstream}};
		keepalive 16;
	}
	server {
		listen 127.0.0.1:{{.HTTP1}};
		listen 127.0.0.1:{{.HTTP2}} ssl http2;
		ssl_certificate {{.Cert}};
		ssl_certificate_key {{.Key}};

		location /events {
			proxy_pass http://ssekit;
			proxy_http_version 1.1;
			proxy_set_header Connection "";
			proxy_buffering off;
			proxy_read_timeout {{.ReadTimeout}};
		}
	}
}
`))

// nginxFront is a running nginx in front of an upstream address.
type nginxFront struct {
	http1, http2 string // listen addresses
}

// startNginx runs nginx as a process of the test, on free loopback ports,
// with its configuration, pid file and error log in a temporary directory,
// in front of upstream (host:port, HTTP/1.1), with the given read timeout
// (whole milliseconds). It stops at cleanup.
func startNginx(tb testing.TB, upstream string, readTimeout time.Duration) *nginxFront {
	tb.Helper()
	bin := nginxBinary(tb)
	dir := tb.TempDir()
	certFile, keyFile := writeCert(tb, dir)
	var lastErr error
	for range 3 { // a free port can be taken between its choice and nginx's bind
		ports := natstest.FreePorts(tb, 2)
		var conf bytes.Buffer
		err := nginxConf.Execute(&conf, map[string]any{
			"Dir": dir, "Upstream": upstream, "Cert": certFile, "Key": keyFile,
			"HTTP1": ports[0], "HTTP2": ports[1], "ReadTimeout": fmt.Sprintf("%dms", readTimeout.Milliseconds()),
		})
		if err != nil {
			tb.Fatal(err)
		}
		confFile := filepath.Join(dir, "nginx.conf")
		if err := os.WriteFile(confFile, conf.Bytes(), 0o600); err != nil {
			tb.Fatal(err)
		}
		cmd := exec.Command(bin, "-p", dir, "-c", confFile, "-e", filepath.Join(dir, "error.log"))
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			tb.Fatalf("starting %s: %v", bin, err)
		}
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		f := &nginxFront{
			http1: net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[0])),
			http2: net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[1])),
		}
		if err := waitListening(exited, f.http1, f.http2); err != nil {
			_ = cmd.Process.Kill()
			<-exited
			log, _ := os.ReadFile(filepath.Join(dir, "error.log"))
			lastErr = fmt.Errorf("nginx did not start: %v\n%s%s", err, out.Bytes(), log)
			continue
		}
		tb.Cleanup(func() {
			_ = cmd.Process.Kill()
			<-exited
		})
		return f
	}
	tb.Fatal(lastErr)
	return nil
}

// waitListening waits until every address accepts a connection, or the
// process exits.
func waitListening(exited <-chan error, addrs ...string) error {
	deadline := time.Now().Add(timeout)
	for _, a := range addrs {
		for {
			c, err := net.DialTimeout("tcp", a, time.Second)
			if err == nil {
				c.Close()
				break
			}
			select {
			case err := <-exited:
				return fmt.Errorf("nginx exited: %v", err)
			case <-time.After(10 * time.Millisecond): // no event says a port listens
			}
			if time.Now().After(deadline) {
				return errors.New("timed out waiting for " + a)
			}
		}
	}
	return nil
}
