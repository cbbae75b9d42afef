module github.com/ssekit/ssekit/examples/goapp

go 1.26.0

// The example builds against the ssekit of this repository. Copying it into
// a project of your own, delete this line and require a released ssekit.
replace github.com/ssekit/ssekit => ../..

require (
	github.com/chromedp/cdproto v0.159.0
	github.com/chromedp/chromedp v0.22.1
	github.com/maxence-charriere/go-app/v10 v10.1.3
	github.com/ssekit/ssekit v0.0.0-00010101000000-000000000000
)

require (
	github.com/go-chi/cors v1.2.2 // indirect
	github.com/go-json-experiment/json v0.0.0-20260213210345-44df1a37e875 // indirect
	github.com/google/uuid v1.6.0 // indirect
	github.com/hack-pad/safejs v0.1.1 // indirect
	github.com/stretchr/testify v1.12.1 // indirect
)
