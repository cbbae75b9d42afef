package natsbroker

import (
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/ssekit/ssekit/server"
)

// Defaults of [New].
const (
	DefaultStream        = "SSEKIT"
	DefaultSubjectPrefix = "ssekit"
	// DefaultMaxMsgsPerSubject and DefaultMaxAge match the retention of
	// server.NewMemoryBroker.
	DefaultMaxMsgsPerSubject = server.DefaultRetainEvents
	DefaultMaxAge            = server.DefaultRetainAge
)

// Margin is how many messages per subject the stream keeps beyond the
// replay window set by [WithMaxMsgsPerSubject]. The margin is never
// replayed: it lets the broker tell an ID whose events are all retained
// from one whose events were trimmed, and it keeps an instance that lags
// behind a burst from losing events before it delivers them.
const Margin = 1000

// MetadataEpoch is the key of the epoch in the stream's metadata. New
// writes it when it creates the stream; a stream created without it is
// refused.
const MetadataEpoch = "ssekit.epoch"

// maxDuplicates is JetStream's default de-duplication window.
const maxDuplicates = 2 * time.Minute

// Option configures [New].
type Option func(*config)

type config struct {
	stream   string
	prefix   string
	maxAge   time.Duration
	maxMsgs  int
	replicas int
	storage  jetstream.StorageType
}

func defaults() config {
	return config{
		stream:   DefaultStream,
		prefix:   DefaultSubjectPrefix,
		maxAge:   DefaultMaxAge,
		maxMsgs:  DefaultMaxMsgsPerSubject,
		replicas: 1,
		storage:  jetstream.FileStorage,
	}
}

func (c *config) check() error {
	switch {
	case !validToken(c.stream):
		return fmt.Errorf("natsbroker: invalid stream name %q", c.stream)
	case !validPrefix(c.prefix):
		return fmt.Errorf("natsbroker: invalid subject prefix %q", c.prefix)
	case c.maxAge < 0:
		return fmt.Errorf("natsbroker: negative max age %v", c.maxAge)
	case c.maxMsgs < 1:
		return fmt.Errorf("natsbroker: max messages per subject %d is below 1", c.maxMsgs)
	case c.replicas < 1 || c.replicas > 5:
		return fmt.Errorf("natsbroker: replicas %d outside 1..5", c.replicas)
	}
	return nil
}

// WithStream names the JetStream stream that holds every topic. The
// default is [DefaultStream]. Instances that share a stream share their
// history and IDs.
func WithStream(name string) Option { return func(c *config) { c.stream = name } }

// WithSubjectPrefix sets the subjects of the stream: a topic is stored
// under prefix + "." + the topic encoded as one token. The default is
// [DefaultSubjectPrefix]. It only matters when New creates the stream.
func WithSubjectPrefix(prefix string) Option { return func(c *config) { c.prefix = prefix } }

// WithMaxAge sets the stream's MaxAge: events older than d are dropped and
// can no longer be replayed. Zero keeps events regardless of age. The
// default is [DefaultMaxAge].
func WithMaxAge(d time.Duration) Option { return func(c *config) { c.maxAge = d } }

// WithMaxMsgsPerSubject sets the replay window: a client resumes without a
// reset when at most n events were published on each of its topics since
// its Last-Event-ID. The stream itself keeps n + [Margin] messages per
// subject (its MaxMsgsPerSubject). The default is
// [DefaultMaxMsgsPerSubject].
func WithMaxMsgsPerSubject(n int) Option { return func(c *config) { c.maxMsgs = n } }

// WithReplicas sets the stream's replica count in a JetStream cluster. The
// default is 1.
func WithReplicas(n int) Option { return func(c *config) { c.replicas = n } }

// WithStorage sets the stream's storage. The default is
// jetstream.FileStorage.
func WithStorage(st jetstream.StorageType) Option { return func(c *config) { c.storage = st } }

// streamConfig returns the configuration New creates the stream with.
func (c *config) streamConfig(epoch string) jetstream.StreamConfig {
	dup := maxDuplicates
	if c.maxAge > 0 && c.maxAge < dup {
		dup = c.maxAge
	}
	return jetstream.StreamConfig{
		Name:              c.stream,
		Description:       "ssekit events (server/natsbroker)",
		Subjects:          []string{c.prefix + ".*"},
		Retention:         jetstream.LimitsPolicy,
		Discard:           jetstream.DiscardOld,
		MaxAge:            c.maxAge,
		MaxMsgsPerSubject: int64(c.maxMsgs + Margin),
		Duplicates:        dup,
		Storage:           c.storage,
		Replicas:          c.replicas,
		Metadata:          map[string]string{MetadataEpoch: epoch},
	}
}
