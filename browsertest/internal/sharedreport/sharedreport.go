// Package sharedreport is what the page of TestShared
// (browsertest/internal/sharedpage) reports through its sharedReport()
// function, in JSON: one definition for the page that writes it and the
// test that reads it.
package sharedreport

// Report is what the page's source delivered, and its state.
type Report struct {
	Values     []int    `json:"values"` // the sequence's values, in the order delivered
	IDs        []string `json:"ids"`    // their event IDs
	State      string   `json:"state"`  // the source's ready state
	LastID     string   `json:"lastId"`
	Opens      int      `json:"opens"`
	Errors     []string `json:"errors"`
	Resets     []string `json:"resets"`
	Mismatches int      `json:"mismatches"`
	OpenErr    string   `json:"openError,omitempty"` // wasm.Open's error
}
