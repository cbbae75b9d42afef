module github.com/ssekit/ssekit/bench

go 1.26.0

replace github.com/ssekit/ssekit => ../

require (
	github.com/chromedp/cdproto v0.159.0
	github.com/chromedp/chromedp v0.22.1
	github.com/launchdarkly/eventsource v1.11.0
	github.com/r3labs/sse/v2 v2.10.0
	github.com/ssekit/ssekit v0.0.0-00010101000000-000000000000
	github.com/tmaxmax/go-sse v0.11.0
)

require (
	github.com/go-chi/cors v1.2.2 // indirect
	github.com/go-json-experiment/json v0.0.0-20260213210345-44df1a37e875 // indirect
	github.com/hack-pad/safejs v0.1.1 // indirect
	github.com/stretchr/testify v1.12.1 // indirect
	golang.org/x/net v0.59.0 // indirect
	gopkg.in/cenkalti/backoff.v1 v1.1.0 // indirect
)
