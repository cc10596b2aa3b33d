// Package api is ration's HTTP server: the DM write endpoints, which hand
// validated requests to producer.DM, and the read endpoints, which ask a
// ration.DMReader (ClickHouse in production), plus /healthz and /metrics.
//
// # Requests
//
// Every endpoint speaks JSON and every error is {"error": "..."} with a 4xx
// or 5xx status. A write request is validated as a whole before anything is
// produced, so a rejected request leaves no trace in Kafka; duplicate ids
// within one request count once. A 202 means Kafka acknowledged every
// record of the request; a 503 means it did not, and the request may be
// repeated safely. An audited request (every non-GET, every admin route)
// is answered only once its audit record is in Kafka; if the record
// cannot be written, the answer is 503 saying the request may have been
// carried out.
//
// # Routes
//
// The route table in routes.go is the one list of what the server mounts;
// docs/openapi.yaml documents the same routes, which a test enforces.
//
// Dependencies point one way: api imports producer, schemas and the root
// package ration; nothing imports api but cmd/ration (and apiclient's tests).
package api
