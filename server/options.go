package server

import (
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/ssekit/ssekit/shared/schema"
)

// Defaults of [New].
const (
	DefaultRetry          = 2 * time.Second
	DefaultHeartbeat      = 15 * time.Second
	DefaultWriteTimeout   = 10 * time.Second
	DefaultMaxTopics      = 16
	DefaultMaxConnections = 10_000
	// DefaultMaxPerClient lets one client take a tenth of the default
	// total: enough for a thousand users behind one proxy, too few for
	// one client to take the whole budget.
	DefaultMaxPerClient      = 1_000
	DefaultMaxLastEventIDLen = 128
	DefaultRetryAfter        = 5 * time.Second
	// MaxTopicLen is the longest topic name the default topic rules accept.
	MaxTopicLen = 128
)

// Option configures [New]. Options that get an invalid value panic when New
// is called, naming the option.
type Option func(*config)

type config struct {
	topics       TopicFunc
	methods      []string
	allowed      map[string]bool
	maxTopics    int
	retry        time.Duration
	heartbeat    time.Duration
	writeTimeout time.Duration
	limits       QueueLimits
	maxConns     int
	maxPerClient int
	client       ClientFunc
	maxIDLen     int
	retryAfter   time.Duration
	authorize    AuthorizeFunc
	registry     *schema.Registry
	logger       *slog.Logger
	onConnect    ConnectFunc
	errs         []string
}

func (c *config) invalid(format string, args ...any) {
	c.errs = append(c.errs, fmt.Sprintf(format, args...))
}

// TopicFunc returns the topics a request subscribes to. An error becomes a
// 400 response with the error's text as the reason.
type TopicFunc func(r *http.Request) ([]string, error)

// AuthorizeFunc decides whether a request may subscribe to topics. To
// refuse, it returns an [*AuthError] (see [Unauthenticated] and
// [Forbidden]), which says the status, the reason shown to the client and
// the headers of the response. Any other error is shown as it is: 401 when
// it wraps [ErrUnauthenticated], else 403. A 401 always carries a
// WWW-Authenticate header ("Bearer" unless the AuthError gives one).
type AuthorizeFunc func(r *http.Request, topics []string) error

// WithTopics replaces the default topic rule (the repeated "topic" query
// parameter). The function's topics are still checked against
// [WithAllowedTopics] and [WithMaxTopics].
func WithTopics(f TopicFunc) Option {
	return func(c *config) {
		if f == nil {
			c.invalid("WithTopics: nil function")
		}
		c.topics = f
	}
}

// WithAllowedTopics restricts subscriptions to the named topics; a request
// for any other gets 400.
func WithAllowedTopics(topics ...string) Option {
	return func(c *config) {
		if len(topics) == 0 {
			c.invalid("WithAllowedTopics: no topics")
		}
		c.allowed = make(map[string]bool, len(topics))
		for _, t := range topics {
			c.allowed[t] = true
		}
	}
}

// WithMaxTopics caps the topics of one connection (default
// [DefaultMaxTopics]).
func WithMaxTopics(n int) Option {
	return func(c *config) {
		if n < 1 {
			c.invalid("WithMaxTopics(%d): must be at least 1", n)
		}
		c.maxTopics = n
	}
}

// WithRetry sets the reconnection time sent to clients at the start of
// every stream (default [DefaultRetry]).
func WithRetry(d time.Duration) Option {
	return func(c *config) {
		if d < time.Millisecond {
			c.invalid("WithRetry(%v): must be at least 1ms", d)
		}
		c.retry = d
	}
}

// WithHeartbeat sets how long a stream may stay silent before the server
// writes a comment to keep proxies from closing it and to notice dead
// peers (default [DefaultHeartbeat]).
func WithHeartbeat(d time.Duration) Option {
	return func(c *config) {
		if d <= 0 {
			c.invalid("WithHeartbeat(%v): must be positive", d)
		}
		c.heartbeat = d
	}
}

// WithWriteTimeout bounds each write to a client (default
// [DefaultWriteTimeout]). A client that does not read for that long is
// disconnected. It replaces http.Server's WriteTimeout for streams, which
// would otherwise cut every stream after that long.
func WithWriteTimeout(d time.Duration) Option {
	return func(c *config) {
		if d <= 0 {
			c.invalid("WithWriteTimeout(%v): must be positive", d)
		}
		c.writeTimeout = d
	}
}

// WithQueueLimits bounds what may wait for one connection's writer (zero
// fields keep the defaults [DefaultQueueFrames] and [DefaultQueueBytes]). A
// connection that falls further behind is closed; its client resumes from
// its Last-Event-ID.
func WithQueueLimits(l QueueLimits) Option {
	return func(c *config) {
		if l.Frames < 0 || l.Bytes < 0 {
			c.invalid("WithQueueLimits(%+v): negative limit", l)
		}
		c.limits = l
	}
}

// WithMaxConnections caps open streams in total and from one client
// (defaults [DefaultMaxConnections] and [DefaultMaxPerClient]); 0 means no
// cap. Past the total a request gets 503, past the per-client cap 429, both
// with Retry-After. A client is what [WithClient] says: by default the IP
// address of the connection's peer, which behind a reverse proxy is the
// proxy's for every user.
func WithMaxConnections(total, perClient int) Option {
	return func(c *config) {
		if total < 0 || perClient < 0 {
			c.invalid("WithMaxConnections(%d, %d): negative cap", total, perClient)
		}
		c.maxConns, c.maxPerClient = total, perClient
	}
}

// WithClient sets how the server tells clients apart for the per-client
// cap of [WithMaxConnections] (default [RemoteClient]). Behind reverse
// proxies, [ForwardedClient] names the proxies whose X-Forwarded-For to
// trust.
func WithClient(f ClientFunc) Option {
	return func(c *config) {
		if f == nil {
			c.invalid("WithClient: nil function")
		}
		c.client = f
	}
}

// WithMaxLastEventIDLength caps the Last-Event-ID header the server reads
// (default [DefaultMaxLastEventIDLen]); a longer one gets a reset.
func WithMaxLastEventIDLength(n int) Option {
	return func(c *config) {
		if n < 1 {
			c.invalid("WithMaxLastEventIDLength(%d): must be at least 1", n)
		}
		c.maxIDLen = n
	}
}

// WithRetryAfter sets the Retry-After of 503 and 429 responses (default
// [DefaultRetryAfter], rounded up to whole seconds).
func WithRetryAfter(d time.Duration) Option {
	return func(c *config) {
		if d <= 0 {
			c.invalid("WithRetryAfter(%v): must be positive", d)
		}
		c.retryAfter = d
	}
}

// WithAuthorize installs a hook that decides, per request, whether it may
// subscribe to its topics.
func WithAuthorize(f AuthorizeFunc) Option {
	return func(c *config) {
		if f == nil {
			c.invalid("WithAuthorize: nil function")
		}
		c.authorize = f
	}
}

// WithRegistry sets the event registry whose fingerprint the hello event
// carries, so that clients built from other event definitions notice.
func WithRegistry(r *schema.Registry) Option {
	return func(c *config) {
		if r == nil {
			c.invalid("WithRegistry: nil registry")
		}
		c.registry = r
	}
}

// WithLogger sets the logger: connection lifecycle at debug level, failures
// at warn (default slog.Default()).
func WithLogger(l *slog.Logger) Option {
	return func(c *config) {
		if l == nil {
			c.invalid("WithLogger: nil logger")
		}
		c.logger = l
	}
}

// ConnectFunc is called when a stream has started, with its request and
// topics; events published from it already reach the new stream. The
// function it returns, if not nil, is called when the stream ends.
type ConnectFunc func(r *http.Request, topics []string) (onClose func())

// WithOnConnect installs a hook on the start and end of every stream, for
// presence lists and the like. The hook runs on a goroutine of its own
// once the stream is subscribed, so that it delays neither the response's
// headers nor the hello or the replay; the function it returns runs when
// the stream has ended and the hook has returned. A panic in the hook is
// logged, as net/http logs one in a handler.
func WithOnConnect(f ConnectFunc) Option {
	return func(c *config) {
		if f == nil {
			c.invalid("WithOnConnect: nil function")
		}
		c.onConnect = f
	}
}

// WithMethods sets the request methods that open a stream (default GET).
// Allow POST for fetch()-based clients that send a request body, and read
// the body in a [WithTopics] function. Other methods get 405.
func WithMethods(methods ...string) Option {
	return func(c *config) {
		if len(methods) == 0 {
			c.invalid("WithMethods: no methods")
		}
		c.methods = methods
	}
}
