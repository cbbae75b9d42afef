package schema

import (
	"fmt"
	"slices"
)

// Registry is the set of events an application streams, one [Definition]
// per name. Its [Registry.Fingerprint] lets a client check that it was built
// from the same definitions as the server.
//
// A Registry cannot change once built: a server announces its fingerprint
// to every client, so a definition added later would make every client
// report a schema mismatch. It is safe for concurrent use. The zero
// Registry is empty.
type Registry struct {
	defs map[string]Definition
	fp   string // the Fingerprint, computed by NewRegistry
}

// NewRegistry returns a registry holding defs. It returns an error if two
// of them share a name or one is not a valid definition (nil, with an
// invalid or reserved name, without a codec or a type).
func NewRegistry(defs ...Definition) (*Registry, error) {
	r := &Registry{defs: make(map[string]Definition, len(defs))}
	for _, d := range defs {
		if err := r.add(d); err != nil {
			return nil, err
		}
	}
	r.fp = fingerprint(r.defs)
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

// add adds d while the registry is being built.
func (r *Registry) add(d Definition) error {
	if d == nil {
		return fmt.Errorf("schema: NewRegistry: nil definition")
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
	if _, dup := r.defs[name]; dup {
		return fmt.Errorf("schema: event %q registered twice", name)
	}
	r.defs[name] = d
	return nil
}

// Lookup returns the definition registered under name. Type assert it to
// the Event[T] it was defined as to encode or decode.
func (r *Registry) Lookup(name string) (Definition, bool) {
	d, ok := r.defs[name]
	return d, ok
}

// Names returns the registered event names, sorted. The slice is the
// caller's.
func (r *Registry) Names() []string {
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
// The result looks like "v2:" followed by 32 hex digits (a 128-bit FNV-1a
// hash); the prefix changes if the algorithm ever does, as it did from v1
// (SHA-256). NewRegistry computes it.
func (r *Registry) Fingerprint() string {
	if r.fp == "" { // the zero Registry
		return fingerprint(nil)
	}
	return r.fp
}
