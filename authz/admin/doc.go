// Package admin is Tollgate's admin HTTP API under /admin/v1: applications with their
// STS keys and external client-ID bindings, APIs (also imported from OpenAPI
// documents), subscriptions, an export of the data, and the API's own OpenAPI 3.1
// description at /admin/v1/openapi.json.
//
// Every request but GET /admin/v1/openapi.json needs the admin bearer token. Every
// write is one store transaction, recorded in the store's audit trail with actor
// "admin". Bodies are JSON, decoded strictly: an unknown field is an error. Lists are
// sorted and paginated with an opaque page token. An error is answered as
// {"error": code, "error_description": text}, with the codes invalid_request (400),
// unauthorized (401), not_found (404), method_not_allowed (405), conflict (409),
// internal_error (500) and not_implemented (501, for what this server was built or
// configured without). Secrets appear in exactly one answer: that of a key's creation.
package admin
