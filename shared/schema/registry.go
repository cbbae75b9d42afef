package schema

import (
	"fmt"
	"slices"
	"sync"
)

// Registry is the set of events an application streams, one [Definition]
// per name. Its [Registry.Fingerprint] lets a client check that it was built
// from the same definitions as the server.
//
// A Registry is safe for concurrent use. The zero Registry is empty and ready
// to use.
type Registry struct {
	mu   sync.RWMutex
	defs map[string]Definition
	fp   string // cached Fingerprint; "" after a Register
}

// NewRegistry returns a registry holding defs. It returns an error, as
// [Registry.Register] does, if two of them share a name or one is not a
// valid definition.
func NewRegistry(defs ...Definition) (*Registry, error) {
	r := &Registry{defs: make(map[string]Definition, len(defs))}
	for _, d := range defs {
		if err := r.Register(d); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// MustRegistry is like [NewRegistry] but panics on error. It is meant for
// package-level variables:
//
//	var Events = schema.MustRegistry(PriceTick, OrderFilled)
func MustRegistry(defs ...Definition) *Registry {
	r, err := NewRegistry(defs...)
	if err != nil {
		panic(err.Error())
	}
	return r
}

// Register adds d. It returns an error naming the event if the registry
// already holds an event of that name (even the same definition: each event
// is registered once), and an error if d is nil, has a nil Codec or Type, or
// has a name [Define] would refuse.
func (r *Registry) Register(d Definition) error {
	if d == nil {
		return fmt.Errorf("schema: Register(nil)")
	}
	name := d.Name()
	if err := checkName(name); err != nil {
		return err
	}
	if d.Codec() == nil {
		return fmt.Errorf("schema: event %q has no codec", name)
	}
	if d.Type() == nil {
		return fmt.Errorf("schema: event %q has no type", name)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, dup := r.defs[name]; dup {
		return fmt.Errorf("schema: event %q registered twice", name)
	}
	if r.defs == nil {
		r.defs = make(map[string]Definition)
	}
	r.defs[name] = d
	r.fp = ""
	return nil
}

// Lookup returns the definition registered under name. Type assert it to
// the Event[T] it was defined as to encode or decode.
func (r *Registry) Lookup(name string) (Definition, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	d, ok := r.defs[name]
	return d, ok
}

// Names returns the registered event names, sorted. The slice is the
// caller's.
func (r *Registry) Names() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	names := make([]string, 0, len(r.defs))
	for name := range r.defs {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

// Fingerprint returns a short, stable hash of every registered event's name,
// codec name and data shape: the Go type as its codec sees it, walked
// recursively (see "Fingerprint" in the package documentation). Two
// registries have one fingerprint exactly when their events agree on all of
// that, whatever the order of registration, the build or the platform: a
// server and a wasm bundle compiled from one shared package match, and a
// bundle built before a field was added, renamed, retyped or re-tagged does
// not.
//
// The result looks like "v1:" followed by 32 hex digits; the prefix changes
// if the algorithm ever does. It is computed once and cached until the next
// Register.
func (r *Registry) Fingerprint() string {
	r.mu.RLock()
	fp := r.fp
	r.mu.RUnlock()
	if fp != "" {
		return fp
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fp == "" {
		r.fp = fingerprint(r.defs)
	}
	return r.fp
}
