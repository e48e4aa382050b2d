// Package contract holds the API's contract test (contract_test.go): it
// starts a real berth, drives every route of the route table
// ((*api.Server).Routes) over HTTP, successes and the common errors, and
// holds each answer (status, content type, headers, body) against the
// OpenAPI document the same berth serves at /openapi.json, with
// kin-openapi's response validator. The package has no other code.
package contract
