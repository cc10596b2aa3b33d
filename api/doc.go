// Package api is ration's HTTP server: its own routes (health, metrics,
// clients, audit, dead letters, reprocessing runs, pipelines' buckets) and
// each pipeline's, which a pipeline builds from Backends (Deps.Routes). It
// owns what routes share: keys and scopes, rate limits, auditing, metrics
// by route pattern, and the JSON error shape (Errorf, BadRequest,
// Unavailable, WriteJSON, DecodeJSON).
//
// # Requests
//
// Every endpoint speaks JSON and every error is {"error": "..."} with a 4xx
// or 5xx status. A write request is validated as a whole before anything is
// produced, so a rejected request leaves no trace in Kafka. An audited
// request is answered only once its audit record is written (503 if it
// cannot be).
//
// # Routes
//
// Server.Routes is the one list of what is mounted; docs/openapi.yaml
// documents a server with every pipeline's routes, which a test in package
// pipelines enforces.
//
// Dependencies point one way: api imports auth, reprocess, schemas and the
// root package ration; pipeline and pipelines/* import api to build their
// routes; internal/roles wires them together.
package api
