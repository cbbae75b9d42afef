//go:build !(js && wasm)

package ui

import "github.com/maxence-charriere/go-app/v10/pkg/app"

// subscribe does nothing outside the browser. go-app does not call
// OnMount there (it renders pages in advance on the server without
// mounting them), but the server compiles this package, and ssekit's
// client, which needs the browser's JavaScript, does not build for it.
func (c *Counter) subscribe(app.Context) {}
